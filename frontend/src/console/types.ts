// The console's types: the API's answers are the kit's names for the generated schemas
// (shared/types.ts); only what the console itself invents lives here.
export type {
  ActionBody,
  AlarmSource,
  Assignee,
  Crew,
  MyWorkCase,
  Workload,
  Load,
  AreaCollection as GeoCollection,
  AreaFeature as GeoFeature,
  BulkResult,
  CaseDispute,
  CasePage,
  CaseReport,
  Category,
  CategoryAttribute,
  ClientConfig,
  Department,
  Indicators,
  IntakeAnswer,
  KpiReport as KpiAnswer,
  KpiCut,
  CityMapAnswer,
  MapLayer,
  MapCrew,
  AreaHeatAnswer,
  AreaHeat,
  KpiRow,
  FactCase,
  Named,
  QueuedDispute as QueueDispute,
  StaffCase as CaseDetail,
  StaffCaseSummary,
  StaffCaseSummary as CaseSummary,
  StaffTimelineRow,
  User,
} from "../shared/types";

/** Why a case went where it did (the server keeps this as a free-form JSON object). */
export interface Routing {
  department?: string;
  rule_id?: number | null;
  explanation?: string;
  override?: string;
  reassigned?: string;
}
