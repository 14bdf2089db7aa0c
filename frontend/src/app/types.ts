// Shapes of the API answers the citizen app reads (see governance/schemas.py and docs/api.md).
import type { Named } from "../shared/types";

export type { Category, CategoryAttribute, ClientConfig, Named } from "../shared/types";

export interface TimelineEvent {
  id: number;
  at: string;
  action: string;
  from_status: string | null;
  status: string;
  message: string | null;
  note: string | null;
  attachments: string[];
  by?: string;
}

export type CaseStatus =
  | "submitted"
  | "registered"
  | "dispatched"
  | "in_progress"
  | "resolved"
  | "closed"
  | "rejected"
  | "merged";

export interface PublicCase {
  id: number;
  service_request_id: string;
  status: CaseStatus;
  open311_status: "open" | "closed";
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
  resolution: "fixed" | "referred" | "not_actionable" | "duplicate" | null;
  resolution_note: string | null;
  referred_to: string | null;
  duplicate_of: number | null;
  merged_into: number | null;
  supporters: number;
  dispute_open: boolean;
  photos: { before: string[]; after: string[] };
  timeline: TimelineEvent[];
}

export interface TrackAnswer {
  report_id: number;
  case: PublicCase;
}

export interface MyReport {
  report_id: number;
  tracking_token: string;
  submitted_at: string;
  case: PublicCase;
}

export interface CitizenNotification {
  id: number;
  case_id: number;
  kind: string;
  message: string;
  created_at: string;
  read: boolean;
}

export interface IntakeAnswer {
  case_id: number;
  service_request_id: string;
  report_id: number;
  tracking_token: string;
  joined_existing: boolean;
  status: string;
  message: string;
}

export interface MediaAnswer {
  id: string;
  url: string;
  thumbnail_url: string;
  width?: number;
  height?: number;
  location_hint?: { lat: number; lon: number };
}

export interface PublicCaseFeature {
  type: "Feature";
  id: number;
  geometry: { type: "Point"; coordinates: [number, number] };
  properties: {
    id: number;
    status: CaseStatus;
    category: string;
    created_at: string;
    resolution: string | null;
    supporters: number;
    photo: string | null;
  };
}

export interface PublicCaseCollection {
  type: "FeatureCollection";
  features: PublicCaseFeature[];
}

export interface ReportBody {
  category: string;
  lat: number;
  lon: number;
  description: string;
  attributes: Record<string, unknown>;
  contact_email?: string;
  contact_phone?: string;
  contact_name?: string;
}

export const OPEN_STATUSES: readonly CaseStatus[] = [
  "submitted",
  "registered",
  "dispatched",
  "in_progress",
  "resolved",
];

export interface PickedLocation {
  lat: number;
  lon: number;
  source: "gps" | "exif" | "server" | "map";
  accuracy?: number;
}
