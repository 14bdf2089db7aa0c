// The shapes of the staff API's answers that the console reads (see governance/schemas.py).
import type { Geometry } from "geojson";
import type { Named } from "../shared/types";

export type { Category, CategoryAttribute, ClientConfig, Named } from "../shared/types";

export interface Department extends Named {
  kind: string;
}

export interface Photos {
  before: string[];
  after: string[];
}

export interface Routing {
  department?: string;
  rule_id?: number | null;
  explanation?: string;
  override?: string;
  reassigned?: string;
}

export interface CaseSummary {
  id: number;
  status: string;
  category: Named;
  priority: string;
  description: string;
  lat: number;
  lon: number;
  address: string | null;
  district: Named | null;
  street: Named | null;
  grid: Named | null;
  department: Named | null;
  created_at: string;
  updated_at: string;
  expected_at: string | null;
  closed_at: string | null;
  resolution: string | null;
  resolution_note: string | null;
  referred_to: string | null;
  duplicate_of: number | null;
  merged_into: number | null;
  supporters: number;
  dispute_open: boolean;
  photos: Photos;
  channel: string;
  routing: Routing;
  registered_at: string | null;
  dispatched_at: string | null;
  started_at: string | null;
  resolved_at: string | null;
  response_due: string | null;
  resolution_due: string | null;
  response_overdue: boolean;
  overdue: boolean;
  update_overdue: boolean;
  escalated: boolean;
  rework_count: number;
  on_time: boolean | null;
  handled_on_time: boolean | null;
  allowed_actions: string[];
}

export interface TimelineEvent {
  id: number;
  at: string;
  action: string;
  from_status: string | null;
  status: string;
  message: string | null;
  note: string | null;
  attachments: string[];
  actor?: string;
  actor_role?: string;
  department?: string | null;
  note_public?: boolean;
  data?: Record<string, unknown>;
}

export interface CaseReport {
  id: number;
  channel: string;
  is_origin: boolean;
  created_at: string;
  description: string;
  lat: number;
  lon: number;
  media: string[];
  attributes: Record<string, unknown>;
  submitted_by: string | null;
  contact_name: string | null;
  contact_email: string | null;
  contact_phone: string | null;
  device_id: string | null;
}

export interface CaseDispute {
  id: number;
  note: string;
  media: string[];
  at: string;
  outcome: string | null;
  answer_note: string | null;
}

/** Where a sensor-filed case came from: the alarm and the device behind it. */
export interface AlarmSource {
  kind: "alarm";
  alarm_id: number;
  alarm_type: string;
  device_id: string;
  entity_id: string | null;
}

export interface CaseDetail extends CaseSummary {
  source_ref?: AlarmSource | Record<string, unknown> | null;
  timeline: TimelineEvent[];
  reports: CaseReport[];
  merged_cases: number[];
  ratings: { stars: number; comment: string; at: string }[];
  disputes: CaseDispute[];
}

export interface CasePage {
  items: CaseSummary[];
  total: number;
  page: number;
  page_size: number;
}

export interface QueueDispute {
  id: number;
  case_id: number;
  note: string;
  media: string[];
  at: string;
}

export interface BulkResult {
  case_id: number;
  ok: boolean;
  status?: string;
  status_code?: number;
  detail?: string;
}

export interface Indicators {
  registered: number;
  due: number;
  closed: number;
  closed_on_time: number;
  resolved: number;
  resolved_on_time: number;
  rework: number;
  overdue: number;
  ratings: number;
  closure_rate: number | null;
  on_time_closure_rate: number | null;
  on_time_handling_rate: number | null;
  median_hours_to_close: number | null;
  satisfaction: number | null;
}

export interface KpiAnswer {
  start: string;
  end: string;
  city: Indicators;
  departments: Record<string, Indicators>;
}

export interface GeoFeature {
  type: "Feature";
  geometry: Geometry;
  properties: { code: string; level: string; name: string; name_zh: string; parent_code: string | null; label?: [number, number] };
}

export interface GeoCollection {
  type: "FeatureCollection";
  features: GeoFeature[];
}

export interface ActionBody {
  action: string;
  note?: string;
  department?: string;
  attachments?: string[];
  resolution?: string;
  referred_to?: string;
  merge_into?: number;
  public?: boolean;
}
