// The outbox: every report is written to IndexedDB before the first attempt to send it, then
// sent from there. With no network it simply stays, and goes out when the connection returns
// (the `online` event, app start, a timer, and the service worker's Background Sync).
//
// Never lost: the item (photos as Blobs, fields, key) is on the phone until the server answers.
// Never doubled: the Idempotency-Key is fixed when the item is made and sent on every retry, and
// each photo's media id is written back into the item as soon as it is uploaded, so a retry
// neither uploads a photo again nor changes the request body.
//
// public/app/sw.js holds a plain-JS copy of sendItem for Background Sync when no page is open;
// both sides take the same Web Lock, so they never send the same item at the same time.
import { openDB, type DBSchema, type IDBPDatabase } from "idb";
import { computed, ref } from "vue";
import { getToken } from "../../shared/api";
import type { IntakeAnswer, MediaAnswer, ReportBody } from "../types";

export const DB_NAME = "cityloop-citizen";
export const DB_VERSION = 1;
export const STORE = "outbox";
export const LOCK = "cityloop-outbox";
export const SYNC_TAG = "cityloop-outbox";

export interface OutboxPhoto {
  blob: Blob | null; // dropped once uploaded
  name: string;
  mediaId: string | null;
}

export interface OutboxItem {
  id: string; // also the Idempotency-Key
  kind: "report";
  createdAt: string;
  body: ReportBody;
  photos: OutboxPhoto[];
  auth: string | null; // the bearer token at the time of reporting
  state: "queued" | "sent" | "failed";
  attempts: number;
  lastError: string | null;
  errorField?: string | null; // the problem's `field`, to point the user at it
  result: IntakeAnswer | null;
}

interface OutboxDB extends DBSchema {
  outbox: { key: string; value: OutboxItem };
}

let dbPromise: Promise<IDBPDatabase<OutboxDB>> | null = null;
function db(): Promise<IDBPDatabase<OutboxDB>> {
  dbPromise ??= openDB<OutboxDB>(DB_NAME, DB_VERSION, {
    upgrade(database) {
      if (!database.objectStoreNames.contains(STORE)) database.createObjectStore(STORE, { keyPath: "id" });
    },
  });
  return dbPromise;
}

/** Everything in the outbox, oldest first, for the UI. */
export const items = ref<OutboxItem[]>([]);
export const pending = computed(() => items.value.filter((i) => i.state === "queued"));
export const failed = computed(() => items.value.filter((i) => i.state === "failed"));
export const sending = ref(false);
export const online = ref(navigator.onLine);

// Called with each item the server accepted (the app keeps its tracking token), before the item
// is removed from the outbox.
type SentListener = (item: OutboxItem) => void;
const sentListeners: SentListener[] = [];
export function onSent(listener: SentListener): void {
  sentListeners.push(listener);
}

export async function refresh(): Promise<void> {
  try {
    const all = await (await db()).getAll(STORE);
    all.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    items.value = all;
  } catch {
    // IndexedDB unavailable (some private modes): the outbox is empty
  }
}

export async function enqueue(input: {
  id: string;
  body: ReportBody;
  photos: { blob: Blob | null; mediaId: string | null }[];
}): Promise<OutboxItem> {
  const item: OutboxItem = {
    id: input.id,
    kind: "report",
    createdAt: new Date().toISOString(),
    body: JSON.parse(JSON.stringify(input.body)) as ReportBody, // plain data: no Vue proxies in IndexedDB
    photos: input.photos.map((p, i) => ({ blob: p.mediaId ? null : p.blob, name: `photo-${i + 1}.jpg`, mediaId: p.mediaId })),
    auth: getToken(),
    state: "queued",
    attempts: 0,
    lastError: null,
    result: null,
  };
  await (await db()).put(STORE, item);
  await refresh();
  void requestBackgroundSync();
  return item;
}

export async function discard(id: string): Promise<void> {
  await (await db()).delete(STORE, id);
  await refresh();
}

export async function retry(id: string): Promise<void> {
  const database = await db();
  const item = await database.get(STORE, id);
  if (item && item.state === "failed") {
    item.state = "queued";
    item.lastError = null;
    await database.put(STORE, item);
  }
  await refresh();
  await flush();
}

class Offline extends Error {}
class Later extends Error {}

async function problemOf(response: Response): Promise<{ detail: string; field: string | null }> {
  try {
    const p = (await response.json()) as { detail?: string; title?: string; field?: string };
    return { detail: p.detail || p.title || `${response.status}`, field: p.field ?? null };
  } catch {
    return { detail: `${response.status} ${response.statusText}`, field: null };
  }
}

function headers(auth: string | null): Headers {
  const h = new Headers();
  if (auth) h.set("Authorization", `Bearer ${auth}`);
  return h;
}

async function post(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    throw new Offline();
  }
}

type Outcome = { state: "sent"; item: OutboxItem } | { state: "failed"; item: OutboxItem; error: string };

/** Send one item: photos first (ids kept), then the report with its key. Throws Offline/Later. */
async function sendItem(database: IDBPDatabase<OutboxDB>, item: OutboxItem): Promise<Outcome> {
  const fail = async (response: Response): Promise<Outcome> => {
    const problem = await problemOf(response);
    const error = problem.detail;
    item.state = "failed";
    item.lastError = error;
    item.errorField = problem.field;
    await database.put(STORE, item);
    return { state: "failed", item, error };
  };
  item.attempts += 1;
  await database.put(STORE, item);
  for (const photo of item.photos) {
    if (photo.mediaId || !photo.blob) continue;
    const form = new FormData();
    form.append("file", photo.blob, photo.name);
    let response = await post("/api/v1/media", { method: "POST", body: form, headers: headers(item.auth) });
    if (response.status === 401 && item.auth) {
      item.auth = null; // the sign-in expired: the report goes anonymously (its token is kept)
      response = await post("/api/v1/media", { method: "POST", body: form });
    }
    if (response.status >= 500 || response.status === 429 || response.status === 408) throw new Later();
    if (!response.ok) return fail(response);
    const media = (await response.json()) as MediaAnswer;
    photo.mediaId = media.id;
    photo.blob = null;
    await database.put(STORE, item);
  }
  const body = JSON.stringify({ ...item.body, media: item.photos.map((p) => p.mediaId).filter(Boolean) });
  const send = (auth: string | null) => {
    const h = headers(auth);
    h.set("Content-Type", "application/json");
    h.set("Idempotency-Key", item.id);
    return post("/api/v1/reports", { method: "POST", body, headers: h });
  };
  let response = await send(item.auth);
  if (response.status === 401 && item.auth) {
    item.auth = null;
    await database.put(STORE, item);
    response = await send(null);
  }
  if (response.status >= 500 || response.status === 429 || response.status === 408) throw new Later();
  if (!response.ok) return fail(response);
  item.result = (await response.json()) as IntakeAnswer;
  item.state = "sent";
  item.lastError = null;
  await database.put(STORE, item);
  return { state: "sent", item };
}

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (locks?.request) return locks.request(LOCK, fn) as Promise<T>;
  return fn();
}

/** Hand sent items to the listeners (who keep their tracking tokens), then drop them. */
async function harvest(database: IDBPDatabase<OutboxDB>): Promise<void> {
  for (const item of await database.getAll(STORE)) {
    if (item.state !== "sent") continue;
    for (const listener of sentListeners) listener(item);
    await database.delete(STORE, item.id);
  }
}

let retryTimer: number | undefined;

/**
 * Send whatever is queued. Returns the number of items still waiting. `only` restricts the run
 * to one item (the report the user just submitted) and reports its outcome.
 */
export async function flush(only?: string): Promise<{ remaining: number; outcome?: Outcome | "queued" }> {
  let outcome: Outcome | "queued" | undefined;
  let database: IDBPDatabase<OutboxDB>;
  try {
    database = await db();
  } catch {
    return { remaining: 0 };
  }
  if (!navigator.onLine) {
    await withLock(() => harvest(database)); // the service worker may have sent some
    await refresh();
    return { remaining: pending.value.length, outcome: only ? "queued" : undefined };
  }
  sending.value = true;
  try {
    await withLock(async () => {
      const all = (await database.getAll(STORE)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      for (const item of all) {
        if (item.state !== "queued" || (only && item.id !== only)) continue;
        try {
          const result = await sendItem(database, item);
          if (item.id === only) outcome = result;
        } catch (error) {
          if (item.id === only) outcome = "queued";
          if (error instanceof Offline || error instanceof Later) break;
          throw error;
        }
      }
      if (only && outcome === undefined) {
        // Someone else (the service worker) sent it while we waited for the lock.
        const item = await database.get(STORE, only);
        if (item?.state === "sent") outcome = { state: "sent", item };
        else if (item?.state === "failed") outcome = { state: "failed", item, error: item.lastError ?? "" };
        else if (item) outcome = "queued";
      }
      await harvest(database);
    });
  } finally {
    sending.value = false;
    await refresh();
  }
  const remaining = pending.value.length;
  window.clearTimeout(retryTimer);
  if (remaining > 0) {
    retryTimer = window.setTimeout(() => void flush(), 30_000);
    void requestBackgroundSync();
  }
  return { remaining, outcome };
}

export async function requestBackgroundSync(): Promise<void> {
  try {
    const registration = await navigator.serviceWorker?.getRegistration?.("/app/");
    const sync = (registration as (ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } }) | undefined)?.sync;
    await sync?.register(SYNC_TAG);
  } catch {
    // no Background Sync here: the online event and the timer do the job
  }
}

let started = false;
/** Wire the outbox to the page's life: call once at app start. */
export function startOutbox(): void {
  if (started) return;
  started = true;
  window.addEventListener("online", () => {
    online.value = true;
    void flush();
  });
  window.addEventListener("offline", () => {
    online.value = false;
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") void flush();
    else if (pending.value.length) void requestBackgroundSync();
  });
  navigator.serviceWorker?.addEventListener("message", (event: MessageEvent) => {
    const data = event.data as { type?: string } | null;
    if (data?.type === "flush-outbox") {
      void flush().then(({ remaining }) => event.ports[0]?.postMessage({ remaining }));
    } else if (data?.type === "outbox-changed") {
      void flush();
    }
  });
  void refresh().then(() => flush());
}
