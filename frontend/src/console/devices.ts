// What the device and alarm screens share: the API's shapes, the vocabularies the server
// declares (severities, alarm statuses, device states, rule kinds), and small formatters.
import "./devices.css";
import type { Schemas } from "../shared/types";

export type Device = Schemas["Device"];
export type DeviceListItem = Schemas["DeviceListItem"];
export type DevicePage = Schemas["DevicePage"];
export type Profile = Schemas["Profile"];
export type Group = Schemas["Group"];
export type ImportAnswer = Schemas["ImportAnswer"];
export type LatestValues = Schemas["LatestValues"];
export type Rule = Schemas["Rule"];
export type Alarm = Schemas["Alarm"];
export type AlarmPage = Schemas["AlarmPage"];
export type Severity = Alarm["severity"];
export type AlarmStatus = Alarm["status"];
export type DeviceState = Device["state"];
export type RuleKind = Rule["kind"];

// Most severe first, as the server ranks them.
export const SEVERITIES: Severity[] = ["CRITICAL", "MAJOR", "MINOR", "WARNING", "INDETERMINATE"];
export const ALARM_STATUSES: AlarmStatus[] = ["ACTIVE_UNACK", "ACTIVE_ACK", "CLEARED_UNACK", "CLEARED_ACK"];
// The list's status filter also takes the four halves (ACTIVE, CLEARED, UNACK, ACK).
export const STATUS_FILTERS = ["ACTIVE", "CLEARED", "UNACK", "ACK", ...ALARM_STATUSES] as const;
export const DEVICE_STATES: DeviceState[] = ["online", "offline", "never_seen"];
export const RULE_KINDS: RuleKind[] = ["threshold", "state", "rate", "nodata", "geofence"];
export const OPERATORS = [">", ">=", "<", "<="] as const;

/** A battery level (0..1) as a whole per cent, or an empty string when none is reported. */
export function batteryText(level: number | null | undefined): string {
  return level === null || level === undefined ? "" : `${Math.round(level * 100)}%`;
}

/** A reading's value as text: numbers rounded to what a person reads, objects as JSON. */
export function valueText(value: unknown): string {
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(2).replace(/\.?0+$/, "");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** The tone a severity is drawn in (the kit's flag colours). */
export function severityTone(severity: Severity): string {
  if (severity === "CRITICAL" || severity === "MAJOR") return "flag-danger";
  if (severity === "MINOR" || severity === "WARNING") return "flag-warn";
  return "flag-info";
}
