// Reference data every screen shares, fetched once per page load: departments, categories,
// the city's jurisdiction polygons and the deployment's client config.
import { shallowRef } from "vue";
import { get } from "../../shared/api";
import { loadAreas, type AreaLevel } from "../../shared/geo";
import { nameOf } from "../i18n";
import type { Category, ClientConfig, Department, GeoCollection } from "../types";

const cache = new Map<string, Promise<unknown>>();

function once<T>(key: string, load: () => Promise<T>): Promise<T> {
  let found = cache.get(key) as Promise<T> | undefined;
  if (!found) {
    found = load();
    cache.set(key, found);
    found.catch(() => cache.delete(key)); // a failed load is retried next time
  }
  return found;
}

export const departments = shallowRef<Department[]>([]);
export const categories = shallowRef<Category[]>([]);

export function loadDepartments(): Promise<Department[]> {
  return once("departments", async () => {
    const list = await get("/api/v1/departments");
    departments.value = list;
    return list;
  });
}

export function loadCategories(): Promise<Category[]> {
  return once("categories", async () => {
    const list = await get("/api/v1/categories");
    categories.value = list;
    return list;
  });
}

export function loadGeo(level: AreaLevel): Promise<GeoCollection> {
  return loadAreas(level); // the kit's cache, shared with the map
}

export function loadConfig(): Promise<ClientConfig> {
  return once("config", () => get("/api/v1/config"));
}

export function departmentByCode(code: string | null | undefined): Department | undefined {
  return departments.value.find((d) => d.code === code);
}

// A department's name in the reader's language (its code until the list has loaded).
export function departmentName(code: string | null | undefined): string {
  if (!code) return "";
  return nameOf(departmentByCode(code) ?? { code, name: "", name_zh: "" });
}

export function categoryByCode(code: string | null | undefined): Category | undefined {
  return categories.value.find((c) => c.code === code);
}
