// Who is signed in, what their role lets them see, and an API call that notices an expired token.
import { computed, reactive } from "vue";
import { ApiError, get, getToken, login, onUnauthorized, setToken, type User } from "../../shared/api";
import { locale, t } from "../i18n";

export const STAFF_ROLES = ["admin", "dispatcher", "supervisor", "handler", "worker", "hotline", "inspector", "clerk", "leader"] as const;
export type Feature = "queue" | "bulk" | "myWork" | "disputes" | "report" | "kpis" | "vitals" | "ops" | "applications" | "catalogue" | "counter" | "data" | "accessLog" | "sharing" | "crews" | "config"
  // Devices and alarms.
  | "devices" | "alarmRules" | "alarms"
  // Administration of accounts, and the audit-log search.
  | "users" | "audit";

// Which screens each role gets. The server still decides every permission; this only shapes the UI.
const FEATURES: Record<string, Feature[]> = {
  admin: ["queue", "bulk", "disputes", "report", "kpis", "ops", "vitals", "applications", "catalogue", "counter", "data", "accessLog", "sharing", "crews", "config",
    // Devices and alarms: the registry and the rules are the admin's; alarms the operators' too.
    "devices", "alarmRules", "alarms"],
  dispatcher: ["queue", "bulk", "disputes", "report", "kpis", "ops", "vitals", "applications", "data", "crews", "alarms"],
  supervisor: ["queue", "disputes", "kpis", "ops", "vitals", "applications", "data", "accessLog", "crews", "alarms"],
  // Data sharing: handlers request and decide grants for their department; workers see them.
  handler: ["myWork", "queue", "ops", "applications", "data", "sharing", "crews"],
  worker: ["myWork", "queue", "applications", "sharing"],
  hotline: ["report", "queue"],
  inspector: ["report", "queue"],
  // The counter clerk checks people's papers in person: the counter screen and nothing of cases.
  clerk: ["counter"],
  // City and district leaders (领导) read the figures and act on nothing.
  leader: ["kpis", "ops", "vitals"],
};
// Administration of accounts (admins) and the audit-log search (admins and supervisors).
FEATURES.admin.push("users", "audit");
FEATURES.supervisor.push("audit");

/** Whether the role works with cases at all (the live case feed is for those who do). */
export function worksCases(): boolean {
  return can("queue") || can("myWork");
}

// `pending`: what the account must do before anything else (change a temporary password, enrol
// a second factor); the router keeps it on the account screen until it is done.
export type Pending = "password-change" | "totp-enrolment";
export const session = reactive<{ user: User | null; ready: boolean; pending: Pending | null }>({ user: null, ready: false, pending: null });

export const role = computed(() => session.user?.role ?? "");

export function can(feature: Feature): boolean {
  return (FEATURES[role.value] ?? []).includes(feature);
}

export function homeRoute(): string {
  if (session.pending) return "/account";
  switch (role.value) {
    case "worker":
      return "/my-work";
    case "hotline":
    case "inspector":
      return "/report";
    case "clerk":
      return "/counter";
    case "leader":
      return "/kpis";
    default:
      return "/queue";
  }
}

export class NotStaffError extends Error {}

let expiredHandler: (() => void) | null = null;
export function onSessionExpired(handler: () => void): void {
  expiredHandler = handler;
}

const signOutHooks: (() => void)[] = [];
export function onSignOut(hook: () => void): void {
  signOutHooks.push(hook);
}

export async function restoreSession(): Promise<void> {
  if (session.ready) return;
  try {
    if (getToken()) {
      const user = await get("/api/v1/me");
      if ((STAFF_ROLES as readonly string[]).includes(user.role)) {
        session.user = user;
        session.pending = user.pending ?? null;
      } else setToken(null);
    }
  } catch {
    setToken(null);
  } finally {
    session.ready = true;
  }
}

/** Thrown when the account has a second factor: sign in again with its code. */
export class SecondFactorNeeded extends Error {}

export async function signIn(username: string, password: string, totpCode?: string): Promise<User> {
  let answer;
  try {
    answer = await login(username, password, totpCode);
  } catch (e) {
    if (e instanceof ApiError && e.problem.type.endsWith("/second-factor-required")) throw new SecondFactorNeeded();
    throw e;
  }
  if (!(STAFF_ROLES as readonly string[]).includes(answer.user.role)) {
    setToken(null);
    throw new NotStaffError(answer.user.role);
  }
  session.user = answer.user;
  session.pending = answer.pending ?? null;
  return answer.user;
}

export function signOut(): void {
  setToken(null);
  session.user = null;
  session.pending = null;
  for (const hook of signOutHooks) hook();
}

// A 401 on any request means the token expired: sign out and go back to login.
onUnauthorized(() => {
  if (!session.user) return;
  signOut();
  expiredHandler?.();
});

export function problemText(error: unknown): string {
  if (error instanceof ApiError) {
    const p = error.problem;
    // A broken password rule comes with its Chinese text.
    const zh = (p as { detail_zh?: string }).detail_zh;
    const head = (locale.value === "zh-CN" && zh) || p.detail || p.title || `HTTP ${error.status}`;
    const extra = (p.errors ?? []).slice(1).map((e) => [e.field, e.message].filter(Boolean).join(": "));
    return extra.length ? `${head}; ${extra.join("; ")}` : head;
  }
  if (error instanceof TypeError) return t("error.network");
  return error instanceof Error ? error.message : String(error);
}

// The field an RFC 7807 problem names, if any (to mark that input as invalid).
export function problemField(error: unknown): string | undefined {
  return error instanceof ApiError ? error.problem.field : undefined;
}
