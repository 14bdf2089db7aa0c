// What the account screens choose from: the roles (listed by the server from its Role enum, so
// a new role appears by itself), the departments and the districts.
import { shallowRef } from "vue";
import { get } from "../shared/api";
import type { Schemas } from "../shared/types";
import { pick, t } from "./i18n";
import { loadDepartments, loadGeo } from "./stores/refdata";

export type Role = Schemas["RoleOut"];
export interface District {
  code: string;
  name: string;
  name_zh?: string;
}

export const roles = shallowRef<Role[]>([]);
export const districts = shallowRef<District[]>([]);

let loading: Promise<void> | null = null;

export function loadAccountChoices(): Promise<void> {
  loading ??= Promise.all([
    get("/api/v1/roles").then((list) => (roles.value = list)),
    loadGeo("districts").then((geo) => (districts.value = geo.features.map((f) => f.properties))),
    loadDepartments(),
  ]).then(
    () => undefined,
    (e: unknown) => {
      loading = null;
      throw e;
    },
  );
  return loading;
}

/** A role's name in the reader's language (its code when the catalogue has none yet). */
export function roleName(code: string): string {
  const key = `role.${code}`;
  const text = t(key);
  return text === key ? code : text;
}

export function districtName(code: string | null | undefined): string {
  if (!code) return "—";
  const found = districts.value.find((d) => d.code === code);
  return found ? pick(found) : code;
}
