// The API's answers as both front ends read them: names for the generated schemas
// (api-types.ts, from the server's OpenAPI document; `make api-types`). Nothing here is written
// by hand except the few shapes the server does not declare yet (marked below).
import type { components } from "./api-types";

export type Schemas = components["schemas"];

// The workflow's words (GET /api/v1/vocabulary).
export type Vocabulary = Schemas["Vocabulary"];
export type StatusTerm = Schemas["StatusTerm"];
export type ActionTerm = Schemas["ActionTerm"];
export type CaseStatus = Schemas["Status"];
export type Resolution = Schemas["Resolution"];
export type Priority = Schemas["Priority"];
export type Channel = Schemas["Channel"];
export type Phase = StatusTerm["phase"];

// Reference data.
export type Named = Schemas["Named"];
export type Category = Schemas["Category"];
export type CategoryAttribute = Schemas["CategoryAttribute"];
export type ClientConfig = Schemas["ClientConfig"];
export type Department = Schemas["DepartmentOut"];
export type User = Schemas["UserOut"];
export type AreaCollection = Schemas["AreaCollection"];
export type AreaFeature = Schemas["AreaFeature"];
export type AreaProperties = Schemas["AreaProperties"];
export type Placement = Schemas["Placement"];
export type PointAddress = Schemas["PointAddress"];
export type BaseMap = Schemas["BaseMap"];
export type MapFeature = Schemas["MapFeature"];

// Cases: the public view, the staff views, and their timeline rows.
export type Photos = Schemas["Photos"];
export type PublicCase = Schemas["PublicCase"];
export type PublicTimelineRow = Schemas["PublicTimelineRow"];
export type StaffCaseSummary = Schemas["StaffCaseSummary"];
export type StaffCase = Schemas["StaffCase"];
export type StaffTimelineRow = Schemas["StaffTimelineRow"];
export type TimelineRow = PublicTimelineRow | StaffTimelineRow;
export type CaseReport = Schemas["CaseReport"];
export type CaseDispute = Schemas["CaseDispute"];
export type CasePage = Schemas["CasePage"];
export type QueuedDispute = Schemas["QueuedDispute"];
export type BulkAnswer = Schemas["BulkAnswer"];
export type BulkResult = BulkAnswer["results"][number];
export type KpiReport = Schemas["KpiReport"];
export type Indicators = Schemas["Indicators"];
export type KpiCut = Schemas["KpiCut"];
// The operations centre (运行中心): the city map in compact rows, heat by area.
export type CityMapAnswer = Schemas["CityMapAnswer"];
export type MapLayer = Schemas["MapLayer"];
export type MapCrew = Schemas["MapCrew"];
export type AreaHeatAnswer = Schemas["AreaHeatAnswer"];
export type AreaHeat = Schemas["AreaHeat"];
export type KpiRow = Schemas["KpiRow"];
export type FactCase = Schemas["FactCase"];
export type IntakeAnswer = Schemas["IntakeAnswer"];
export type TrackAnswer = Schemas["TrackAnswer"];
export type MyReport = Schemas["MyReport"];
export type Notification = Schemas["Notification"];
export type PublicCaseCollection = Schemas["PublicCaseCollection"];
export type PublicCaseFeature = Schemas["PublicCaseFeature"];
export type NearbyCase = Schemas["NearbyCase"];

// Public transparency: the city's figures for anyone, with no personal data.
export type PublicKpis = Schemas["PublicKpis"];
export type PublicCityFigures = Schemas["PublicCityFigures"];
export type PublicDistrictRow = Schemas["PublicDistrictRow"];
export type PublicTrends = Schemas["PublicTrends"];
export type ClosedCases = Schemas["ClosedCases"];
export type ClosedCasePoint = Schemas["ClosedCasePoint"];

// Crews and who works on a case.
export type Assignee = Schemas["Assignee"];
export type Crew = Schemas["CrewOut"];
export type MyWork = Schemas["MyWork"];
export type MyWorkCase = Schemas["MyWorkCase"];
export type Workload = Schemas["Workload"];
export type Load = Schemas["Load"];

// Request bodies.
export type ReportBody = Schemas["ReportIn"];
export type ActionBody = Schemas["ActionIn"];

export type MediaAnswer = Schemas["Uploaded"];

/** A staff row's JSON data blob is free-form; a sensor-filed case's source_ref looks like this. */
export interface AlarmSource {
  kind: "alarm";
  alarm_id: number;
  alarm_type: string;
  device_id: string;
  entity_id: string | null;
}

/** Whether a timeline row carries the staff-only fields. */
export function isStaffRow(row: TimelineRow): row is StaffTimelineRow {
  return "actor" in row;
}
