// The live case feed: one EventSource per console on /api/v1/cases-stream, shared by every screen.
// Screens subscribe with useLiveRefresh(); each `case` event (or a reconnect) triggers a debounced
// refetch, so the queue and an open case stay current with no manual reload.
import { onBeforeUnmount, reactive } from "vue";
import { get, getToken } from "../../shared/api";

export interface CaseChange {
  event_id: number;
  case_id: number;
  action: string;
  status: string;
  department: string | null;
}

export type LiveStatus = "idle" | "connecting" | "live" | "offline";

export const live = reactive({
  status: "idle" as LiveStatus,
  lastEventId: 0,
  lastEventAt: null as Date | null,
  received: 0,
});

// null means "resynchronise": the feed (re)connected and events may have been missed.
type Listener = (change: CaseChange | null) => void;
const listeners = new Set<Listener>();
let source: EventSource | null = null;
let retryTimer: number | undefined;
let retryDelay = 2000;

function notify(change: CaseChange | null): void {
  for (const listener of [...listeners]) listener(change);
}

function connect(): void {
  const token = getToken();
  if (!token) return;
  const params = new URLSearchParams({ access_token: token });
  if (live.lastEventId) params.set("last_event_id", String(live.lastEventId));
  live.status = "connecting";
  const es = new EventSource(`/api/v1/cases-stream?${params}`);
  source = es;
  es.addEventListener("ready", (event) => {
    retryDelay = 2000;
    live.status = "live";
    try {
      const data = JSON.parse((event as MessageEvent).data) as { event_id: number };
      if (!live.lastEventId) live.lastEventId = data.event_id;
    } catch {
      /* a ready event without a body is still ready */
    }
    notify(null);
  });
  es.addEventListener("case", (event) => {
    live.status = "live";
    let change: CaseChange;
    try {
      change = JSON.parse((event as MessageEvent).data) as CaseChange;
    } catch {
      return;
    }
    live.lastEventId = Math.max(live.lastEventId, change.event_id);
    live.lastEventAt = new Date();
    live.received += 1;
    notify(change);
  });
  es.onerror = () => {
    if (source !== es) return;
    if (es.readyState === EventSource.CLOSED) {
      // The server refused (e.g. an expired token) or went away: retry ourselves, slower each time.
      live.status = "offline";
      es.close();
      source = null;
      window.clearTimeout(retryTimer);
      retryTimer = window.setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 30000);
      // If the refusal was an expired token, this call signs the user out (and stops the feed).
      void get("/api/v1/me").catch(() => undefined);
    } else {
      live.status = "connecting"; // the browser reconnects by itself, sending Last-Event-ID
    }
  };
}

export function startLive(): void {
  if (source || !getToken()) return;
  connect();
}

export function stopLive(): void {
  window.clearTimeout(retryTimer);
  source?.close();
  source = null;
  live.status = "idle";
  live.lastEventId = 0;
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// Call `refresh` (debounced) whenever the feed reports a change that `relevant` accepts, and after
// every (re)connect. Unsubscribes when the component goes away.
export function useLiveRefresh(
  refresh: (changes: CaseChange[]) => void,
  relevant: (change: CaseChange) => boolean = () => true,
  delay = 400,
): void {
  let timer: number | undefined;
  let pending: CaseChange[] = [];
  const stop = subscribe((change) => {
    if (change && !relevant(change)) return;
    if (change) pending.push(change);
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      const batch = pending;
      pending = [];
      refresh(batch);
    }, delay);
  });
  onBeforeUnmount(() => {
    window.clearTimeout(timer);
    stop();
  });
}
