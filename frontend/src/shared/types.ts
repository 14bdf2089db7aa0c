// Shapes both front ends read from the same endpoints (see governance/schemas.py and docs/api.md).

export interface Named {
  code: string;
  name: string;
  name_zh: string;
}

export interface CategoryAttribute {
  code: string;
  description: string;
  datatype: "string" | "number" | "datetime" | "text" | "singlevaluelist" | "multivaluelist";
  required: boolean;
  order: number;
  values: [string, string][];
  // The city's Chinese texts (categories.yaml); absent or empty where it has none.
  description_zh?: string;
  values_zh?: [string, string][];
}

export interface Category {
  code: string;
  kind: "component" | "event";
  major_class: string;
  group: string;
  group_zh: string;
  name: string;
  name_zh: string;
  description: string;
  keywords: string[];
  icon: string;
  priority: string;
  auto_dispatch: boolean;
  default_department: string;
  dedupe_radius_m: number;
  attributes: CategoryAttribute[];
}

export interface ClientConfig {
  city_domain: string;
  tile_url: string | null;
  tile_attribution: string;
  dispute_window_hours: number;
  rating_window_hours: number;
  demo: boolean;
}
