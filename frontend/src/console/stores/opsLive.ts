// The operations centre's live feed: one EventSource on /api/v1/operations/live while the ops
// screen is open. Each change (a case's fact, an alarm, a device's state, a worker's position)
// goes to the screen's handler, which updates the map in place; the browser's own reconnect
// resumes with Last-Event-ID, and after our own retry the screen reloads the map first.
import { reactive } from "vue";
import { get, getToken } from "../../shared/api";

export type OpsKind = "case" | "alarm" | "device" | "position";

export interface OpsChange {
  kind: OpsKind;
  id: number | null; // the change's id (devices' state changes have none)
  data: Record<string, unknown>;
}

export type OpsLiveStatus = "idle" | "connecting" | "live" | "offline";

export const opsLive = reactive({ status: "idle" as OpsLiveStatus, lastEventId: 0 });

let source: EventSource | null = null;
let retryTimer: number | undefined;
let retryDelay = 2000;
let handler: ((change: OpsChange) => void) | null = null;
let onResync: (() => void) | null = null;

function connect(): void {
  const token = getToken();
  if (!token) return;
  const params = new URLSearchParams({ access_token: token });
  if (opsLive.lastEventId) params.set("last_event_id", String(opsLive.lastEventId));
  opsLive.status = "connecting";
  const es = new EventSource(`/api/v1/operations/live?${params}`);
  source = es;
  es.addEventListener("ready", (event) => {
    retryDelay = 2000;
    opsLive.status = "live";
    try {
      const data = JSON.parse((event as MessageEvent).data) as { event_id: number };
      if (!opsLive.lastEventId) opsLive.lastEventId = data.event_id;
    } catch {
      /* a ready event without a body is still ready */
    }
  });
  for (const kind of ["case", "alarm", "device", "position"] as const) {
    es.addEventListener(kind, (event) => {
      const message = event as MessageEvent;
      let data: Record<string, unknown>;
      try {
        data = JSON.parse(message.data) as Record<string, unknown>;
      } catch {
        return;
      }
      const id = message.lastEventId ? Number(message.lastEventId) : null;
      if (id && kind !== "device") opsLive.lastEventId = Math.max(opsLive.lastEventId, id);
      handler?.({ kind, id: kind === "device" ? null : id, data });
    });
  }
  es.onerror = () => {
    if (source !== es) return;
    if (es.readyState === EventSource.CLOSED) {
      opsLive.status = "offline";
      es.close();
      source = null;
      window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(() => {
        onResync?.();
        connect();
      }, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
      void get("/api/v1/me").catch(() => undefined); // signs out on an expired token
    } else {
      opsLive.status = "connecting";
    }
  };
}

/** Follow the feed from ``cursor`` (the map's ``live_cursor``), calling ``onChange`` per change. */
export function followOps(cursor: number, onChange: (change: OpsChange) => void, resync: () => void): void {
  stopOps();
  handler = onChange;
  onResync = resync;
  opsLive.lastEventId = cursor;
  connect();
}

export function stopOps(): void {
  window.clearTimeout(retryTimer);
  source?.close();
  source = null;
  handler = null;
  onResync = null;
  opsLive.status = "idle";
}
