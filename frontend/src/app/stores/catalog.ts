// What the report form needs to know about the city: categories, departments and the client
// config. Kept in localStorage as well, so the form still works when the app starts offline.
import { computed, ref } from "vue";
import { get } from "../../shared/api";
import type { Category, ClientConfig, Named } from "../types";

const KEY = "cityloop.citizen.catalog";

interface Stored {
  categories: Category[];
  departments: Named[];
  config: ClientConfig | null;
}

function load(): Stored {
  try {
    const raw = localStorage.getItem(KEY);
    if (raw) return JSON.parse(raw) as Stored;
  } catch {
    // a damaged entry is ignored and rebuilt
  }
  return { categories: [], departments: [], config: null };
}

const stored = load();
export const categories = ref<Category[]>(stored.categories);
export const departments = ref<Named[]>(stored.departments);
export const config = ref<ClientConfig>(
  stored.config ?? {
    city_name: "",
    city_name_zh: "",
    bounds: null,
    center: null,
    city_domain: "",
    tile_url: null,
    tile_attribution: "",
    dispute_window_hours: 168,
    rating_window_hours: 720,
    demo: false,
  },
);
export const catalogLoaded = ref(stored.categories.length > 0);
export const catalogError = ref(false);

const byCode = computed(() => new Map(categories.value.map((c) => [c.code, c])));

export function categoryByCode(code: string | null | undefined): Category | undefined {
  return code ? byCode.value.get(code) : undefined;
}

let loading: Promise<void> | null = null;

export function loadCatalog(): Promise<void> {
  loading ??= (async () => {
    try {
      const [cats, deps, conf] = await Promise.all([
        get("/api/v1/categories"),
        get("/api/v1/departments"),
        get("/api/v1/config"),
      ]);
      categories.value = cats;
      departments.value = deps;
      config.value = conf;
      catalogLoaded.value = true;
      catalogError.value = false;
      try {
        localStorage.setItem(KEY, JSON.stringify({ categories: cats, departments: deps, config: conf }));
      } catch {
        // storage full: the in-memory copy still works
      }
    } catch {
      catalogError.value = !catalogLoaded.value;
      loading = null; // try again next time
    }
  })();
  return loading;
}
