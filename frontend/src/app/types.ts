// The citizen app's types: the API's answers are the kit's names for the generated schemas
// (shared/types.ts); only what the app itself invents lives here.
export type {
  Category,
  CategoryAttribute,
  ClientConfig,
  IntakeAnswer,
  MediaAnswer,
  MyReport,
  Named,
  Notification as CitizenNotification,
  Placement,
  PublicCase,
  PublicCaseCollection,
  PublicCaseFeature,
  PublicTimelineRow,
  ReportBody,
  TrackAnswer,
} from "../shared/types";

/** Where the problem is, and how the app knows. */
export interface PickedLocation {
  lat: number;
  lon: number;
  source: "gps" | "exif" | "server" | "map";
  accuracy?: number;
}
