// Dates, durations, distances and numbers in the reader's language: the one set of formatters
// both apps use. Missing values read "—".
import { locale, t } from "./i18n";
import type { TimelineRow } from "./types";

const NONE = "—";

function valid(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "3 Nov 2026, 08:15" / "2026年11月3日 08:15". */
export function dateTime(iso: string | null | undefined): string {
  const date = valid(iso);
  if (!date) return NONE;
  return new Intl.DateTimeFormat(locale.value, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

/** The time alone today, else the day and time: for dense tables. */
export function shortTime(iso: string | null | undefined): string {
  const date = valid(iso);
  if (!date) return NONE;
  const sameDay = new Date().toDateString() === date.toDateString();
  return sameDay
    ? date.toLocaleTimeString(locale.value, { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleString(locale.value, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

/** "in 3 hours", "2 days ago", "昨天". */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  const date = valid(iso);
  if (!date) return NONE;
  const rtf = new Intl.RelativeTimeFormat(locale.value, { numeric: "auto" });
  const minutes = Math.round((date.getTime() - now) / 60_000);
  if (Math.abs(minutes) < 60) return rtf.format(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (Math.abs(hours) < 48) return rtf.format(hours, "hour");
  return rtf.format(Math.round(hours / 24), "day");
}

/** 93784000 ms → "1d 2h" / "1天2小时"; 3725000 → "1h 02m"; 125000 → "2m 05s". */
export function duration(ms: number): string {
  const total = Math.floor(Math.abs(ms) / 1000);
  const d = Math.floor(total / 86400);
  const h = Math.floor((total % 86400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (d > 0) return t("dur.dh", { d, h });
  if (h > 0) return t("dur.hm", { h, m: pad(m) });
  return t("dur.ms", { m, s: pad(s) });
}

/** 42 → "42 m" / "42米"; 1530 → "1.5 km" / "1.5公里". */
export function distance(metres: number | null | undefined): string {
  if (metres === null || metres === undefined || !Number.isFinite(metres)) return NONE;
  const km = Math.abs(metres) >= 1000;
  return new Intl.NumberFormat(locale.value, {
    style: "unit",
    unit: km ? "kilometer" : "meter",
    unitDisplay: "short",
    maximumFractionDigits: km ? 1 : 0,
  }).format(km ? metres / 1000 : metres);
}

/** 0.8734 → "87.3%". */
export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? NONE : `${(rate * 100).toFixed(1)}%`;
}

/** 532 → "532 byte"; 48213 → "47 kB"; 3.4e6 → "3.2 MB" (the reader's digits and unit names). */
export function byteSize(size: number | null | undefined): string {
  if (size === null || size === undefined || !Number.isFinite(size)) return NONE;
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"] as const;
  let value = Math.max(0, size);
  let step = 0;
  while (value >= 1024 && step < units.length - 1) {
    value /= 1024;
    step += 1;
  }
  return new Intl.NumberFormat(locale.value, {
    style: "unit",
    unit: units[step],
    unitDisplay: "short",
    maximumFractionDigits: value < 10 && step > 0 ? 1 : 0,
  }).format(value);
}

export function num(value: number | null | undefined, digits = 1): string {
  return value === null || value === undefined ? NONE : value.toFixed(digits);
}

/** A timeline row's status line in the reader's language (the server sends both). */
export function rowMessage(row: Pick<TimelineRow, "message" | "message_zh">): string | null {
  if (locale.value === "zh-CN" && row.message_zh) return row.message_zh;
  return row.message;
}

/** What a citizen reads first of a row: its status line, else what happened. */
export function rowHeadline(row: Pick<TimelineRow, "message" | "message_zh" | "action">): string {
  return rowMessage(row) ?? t(`event.${row.action}`);
}

export function mediaUrl(id: string): string {
  return `/api/v1/media/${encodeURIComponent(id)}`;
}

export function mediaThumb(id: string): string {
  return `/api/v1/media/${encodeURIComponent(id)}/thumbnail`;
}
