// "My reports": the signed-in citizen's reports (GET /me/reports) and, for reports made without
// an account, the tracking tokens this phone keeps in localStorage (GET /track/{token}).
import { ref } from "vue";
import { ApiError, get } from "../../shared/api";
import type { CitizenNotification, IntakeAnswer, MyReport } from "../types";
import { signedIn } from "./session";

const TRACKED_KEY = "cityloop.citizen.tracked";
const RATED_KEY = "cityloop.citizen.rated";
const SEEN_KEY = "cityloop.citizen.seen-notifications";

export interface Tracked {
  token: string;
  case_id: number;
  report_id: number;
  at: string;
  joined_existing?: boolean;
  account?: boolean; // made while signed in (forgotten on sign-out)
}

function read<T>(key: string, fallback: T): T {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : fallback;
  } catch {
    return fallback;
  }
}

export const tracked = ref<Tracked[]>(read<Tracked[]>(TRACKED_KEY, []));

function saveTracked(): void {
  localStorage.setItem(TRACKED_KEY, JSON.stringify(tracked.value));
}

export function remember(answer: IntakeAnswer, account: boolean): void {
  if (tracked.value.some((t) => t.token === answer.tracking_token)) return;
  tracked.value = [
    {
      token: answer.tracking_token,
      case_id: answer.case_id,
      report_id: answer.report_id,
      at: new Date().toISOString(),
      joined_existing: answer.joined_existing,
      account,
    },
    ...tracked.value,
  ];
  saveTracked();
}

export function forget(token: string): void {
  tracked.value = tracked.value.filter((t) => t.token !== token);
  saveTracked();
}

/** On sign-out, a shared phone should not keep showing the account's reports. */
export function forgetAccountReports(): void {
  tracked.value = tracked.value.filter((t) => !t.account);
  saveTracked();
}

export interface ReportEntry {
  token: string;
  report_id: number;
  submitted_at: string;
  case: MyReport["case"];
}

export const reports = ref<ReportEntry[]>([]);
export const notifications = ref<CitizenNotification[]>([]);
export const loading = ref(false);
export const loadFailed = ref(false);
export const lastLoaded = ref<Date | null>(null);

export async function loadReports(): Promise<void> {
  loading.value = true;
  loadFailed.value = false;
  const entries = new Map<number, ReportEntry>();
  const notes = new Map<number, CitizenNotification>();
  let failures = 0;
  try {
    if (signedIn.value) {
      try {
        const [mine, mineNotes] = await Promise.all([
          get("/api/v1/me/reports"),
          get("/api/v1/me/notifications"),
        ]);
        for (const r of mine) {
          entries.set(r.report_id, { token: r.tracking_token, report_id: r.report_id, submitted_at: r.submitted_at, case: r.case });
        }
        for (const n of mineNotes) notes.set(n.id, n);
      } catch {
        failures += 1;
      }
    }
    const results = await Promise.all(
      tracked.value.map(async (t) => {
        try {
          const [answer, tokenNotes] = await Promise.all([
            get("/api/v1/track/{token}", { path: { token: t.token } }),
            get("/api/v1/track/{token}/notifications", { path: { token: t.token } }).catch(
              () => [] as CitizenNotification[],
            ),
          ]);
          return { t, answer, tokenNotes };
        } catch (error) {
          if (error instanceof ApiError && error.status === 404) forget(t.token);
          else failures += 1;
          return null;
        }
      }),
    );
    for (const r of results) {
      if (!r) continue;
      if (!entries.has(r.answer.report_id)) {
        entries.set(r.answer.report_id, { token: r.t.token, report_id: r.answer.report_id, submitted_at: r.t.at, case: r.answer.case });
      }
      for (const n of r.tokenNotes) notes.set(n.id, n);
    }
    if (failures === 0 || entries.size > 0) {
      reports.value = [...entries.values()].sort((a, b) => b.submitted_at.localeCompare(a.submitted_at));
      notifications.value = [...notes.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
      lastLoaded.value = new Date();
    }
    loadFailed.value = failures > 0;
  } finally {
    loading.value = false;
  }
}

export const rated = ref<Record<string, number>>(read<Record<string, number>>(RATED_KEY, {}));
export function rememberRating(caseId: number, stars: number): void {
  rated.value = { ...rated.value, [String(caseId)]: stars };
  localStorage.setItem(RATED_KEY, JSON.stringify(rated.value));
}

export const seenNotifications = ref<number[]>(read<number[]>(SEEN_KEY, []));
export function markNotificationsSeen(ids: number[]): void {
  const all = new Set([...seenNotifications.value, ...ids]);
  seenNotifications.value = [...all].slice(-500);
  localStorage.setItem(SEEN_KEY, JSON.stringify(seenNotifications.value));
}
