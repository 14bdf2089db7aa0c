/* CityLoop citizen app service worker (plain JS, served as /app/sw.js, scope /app/).
 *
 * - App shell offline: on install it fetches /app/, reads the hashed /assets/ files the page
 *   references and those the build lists in /app/precache.json (the screens loaded on first
 *   use), and caches them; later navigations are network-first (a new build is picked up at
 *   once), falling back to the cached shell when offline.
 * - City data offline: categories, config, departments, the workflow's vocabulary and the
 *   district/street/grid GeoJSON and the base map (roads, river, landmarks) are network-first with a cached fallback, so the report form
 *   and the base map work with no signal. Photos (immutable media URLs) are cache-first. Anything signed (/me/...) is never
 *   cached, and POSTs are never touched.
 * - Background Sync ("cityloop-outbox"): when the connection returns, an open page is asked to
 *   send its outbox; with no page open the worker sends it itself (the same steps as
 *   src/app/offline/queue.ts, under the same Web Lock, with the same Idempotency-Key).
 */
"use strict";

const VERSION = "v1";
const SHELL = "cityloop-app-shell-" + VERSION;
const DATA = "cityloop-app-data-" + VERSION;
const MEDIA = "cityloop-app-media-" + VERSION;
const KEEP = [SHELL, DATA, MEDIA];
const SHELL_URL = "/app/";
const PRECACHE_URL = "/app/precache.json";
const STATIC = [
  "/app/manifest.webmanifest",
  "/app/icons/icon.svg",
  "/app/icons/icon-192.png",
  "/app/icons/icon-512.png",
];
const DATA_URLS = [
  "/api/v1/categories",
  "/api/v1/config",
  "/api/v1/departments",
  "/api/v1/vocabulary",
  "/api/v1/geo/districts",
  "/api/v1/geo/streets",
  "/api/v1/geo/grids",
  "/api/v1/geo/basemap",
];
const MEDIA_LIMIT = 300;

const DB_NAME = "cityloop-citizen";
const DB_VERSION = 1;
const STORE = "outbox";
const LOCK = "cityloop-outbox";
const SYNC_TAG = "cityloop-outbox";

// ------------------------------------------------------------------ install and activate

function assetsIn(html) {
  const found = new Set();
  const pattern = /(?:src|href)="(\/assets\/[^"]+)"/g;
  let m;
  while ((m = pattern.exec(html))) found.add(m[1]);
  return [...found];
}

// Every file the build can load for the app, lazy screens included (written by the build);
// a missing list (an older build) falls back to what the page itself names.
async function precacheList() {
  try {
    const response = await fetch(PRECACHE_URL, { cache: "no-store" });
    if (!response.ok) return [];
    const list = await response.json();
    return Array.isArray(list) ? list.filter((path) => typeof path === "string") : [];
  } catch (error) {
    return [];
  }
}

async function cacheShell(response) {
  const html = await response.clone().text();
  const cache = await caches.open(SHELL);
  const assets = [...new Set([...assetsIn(html), ...(await precacheList())])];
  await cache.addAll(assets);
  await cache.put(SHELL_URL, response);
  // Drop hashed files of older builds (keep images a stylesheet may refer to).
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/assets/") && /\.(js|css)$/.test(path) && !assets.includes(path)) {
      await cache.delete(request);
    }
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const response = await fetch(SHELL_URL, { cache: "no-store" });
      if (!response.ok) throw new Error("shell: " + response.status);
      await cacheShell(response);
      const cache = await caches.open(SHELL);
      await cache.addAll(STATIC).catch(() => undefined);
      const data = await caches.open(DATA);
      await Promise.all(DATA_URLS.map((url) => data.add(url).catch(() => undefined)));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("cityloop-app-") && !KEEP.includes(name)) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

// ------------------------------------------------------------------ fetch

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

async function networkFirst(request, cacheName, waitMs, cacheKey) {
  const cache = await caches.open(cacheName);
  const network = fetch(request).then(async (response) => {
    if (response.ok) await cache.put(cacheKey || request, response.clone());
    return response;
  });
  network.catch(() => undefined); // a late failure after the cache answered is not an error
  try {
    return await Promise.race([network, timeout(waitMs)]);
  } catch (error) {
    const cached = await cache.match(cacheKey || request);
    if (cached) return cached;
    return network; // nothing cached: wait for the network after all (or fail with it)
  }
}

async function cacheFirst(request, cacheName, limit) {
  const cache = await caches.open(cacheName);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    await cache.put(request, response.clone());
    if (limit) {
      const keys = await cache.keys();
      for (const old of keys.slice(0, Math.max(0, keys.length - limit))) await cache.delete(old);
    }
  }
  return response;
}

async function navigation(request) {
  try {
    const response = await Promise.race([fetch(request), timeout(5000)]);
    if (response.ok) {
      const path = new URL(request.url).pathname;
      if (path === "/app/" || path === "/app/index.html") {
        cacheShell(response.clone()).catch(() => undefined);
      }
    }
    return response;
  } catch (error) {
    const cached = await caches.match(SHELL_URL);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const path = url.pathname;

  if (request.mode === "navigate" && path.startsWith("/app/")) {
    event.respondWith(navigation(request));
  } else if (path.startsWith("/assets/")) {
    event.respondWith(cacheFirst(request, SHELL));
  } else if (path.startsWith("/app/")) {
    event.respondWith(cacheFirst(request, SHELL));
  } else if (DATA_URLS.includes(path)) {
    event.respondWith(networkFirst(request, DATA, 4000));
  } else if (path.startsWith("/api/v1/track/") || path.startsWith("/api/v1/public/cases")) {
    event.respondWith(networkFirst(request, DATA, 6000));
  } else if (/^\/api\/v1\/media\/[^/]+(\/thumbnail)?$/.test(path)) {
    event.respondWith(cacheFirst(request, MEDIA, MEDIA_LIMIT));
  }
  // everything else (signed requests, POSTs, other pages) goes straight to the network
});

// ------------------------------------------------------------------ the outbox (Background Sync)

function openDb() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB_NAME, DB_VERSION);
    open.onupgradeneeded = () => {
      if (!open.result.objectStoreNames.contains(STORE)) open.result.createObjectStore(STORE, { keyPath: "id" });
    };
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

function tx(db, mode, run) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const result = run(t.objectStore(STORE));
    t.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    t.onerror = () => reject(t.error);
  });
}

const getAll = (db) => tx(db, "readonly", (s) => s.getAll());
const put = (db, item) => tx(db, "readwrite", (s) => s.put(item));

class Later extends Error {}

async function problem(response) {
  try {
    const p = await response.json();
    return { detail: p.detail || p.title || String(response.status), field: p.field || null };
  } catch (e) {
    return { detail: response.status + " " + response.statusText, field: null };
  }
}

async function post(url, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    throw new Later();
  }
}

function retryable(status) {
  return status >= 500 || status === 429 || status === 408;
}

async function sendItem(db, item) {
  const fail = async (response) => {
    const p = await problem(response);
    item.state = "failed";
    item.lastError = p.detail;
    item.errorField = p.field;
    await put(db, item);
  };
  const auth = () => (item.auth ? { Authorization: "Bearer " + item.auth } : {});
  item.attempts = (item.attempts || 0) + 1;
  await put(db, item);
  for (const photo of item.photos) {
    if (photo.mediaId || !photo.blob) continue;
    const form = new FormData();
    form.append("file", photo.blob, photo.name);
    let response = await post("/api/v1/media", { method: "POST", body: form, headers: auth() });
    if (response.status === 401 && item.auth) {
      item.auth = null;
      response = await post("/api/v1/media", { method: "POST", body: form });
    }
    if (retryable(response.status)) throw new Later();
    if (!response.ok) return fail(response);
    const media = await response.json();
    photo.mediaId = media.id;
    photo.blob = null;
    await put(db, item);
  }
  const body = JSON.stringify(Object.assign({}, item.body, { media: item.photos.map((p) => p.mediaId).filter(Boolean) }));
  const send = () =>
    post("/api/v1/reports", {
      method: "POST",
      body,
      headers: Object.assign({ "Content-Type": "application/json", "Idempotency-Key": item.id }, auth()),
    });
  let response = await send();
  if (response.status === 401 && item.auth) {
    item.auth = null;
    await put(db, item);
    response = await send();
  }
  if (retryable(response.status)) throw new Later();
  if (!response.ok) return fail(response);
  item.result = await response.json();
  item.state = "sent"; // the page keeps the tracking token and removes the item
  item.lastError = null;
  await put(db, item);
}

async function flushOutbox() {
  const run = async () => {
    const db = await openDb();
    const items = (await getAll(db)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    let remaining = 0;
    let stop = false;
    for (const item of items) {
      if (item.state !== "queued") continue;
      if (stop) {
        remaining += 1;
        continue;
      }
      try {
        await sendItem(db, item);
      } catch (e) {
        stop = true;
        remaining += 1;
      }
    }
    db.close();
    return remaining;
  };
  const remaining = self.navigator.locks ? await self.navigator.locks.request(LOCK, run) : await run();
  const windows = await self.clients.matchAll({ type: "window" });
  windows.forEach((w) => w.postMessage({ type: "outbox-changed" }));
  if (remaining > 0) throw new Error("outbox: " + remaining + " still queued"); // the browser retries later
}

function askPage(client) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), 30000);
    channel.port1.onmessage = (event) => {
      clearTimeout(timer);
      resolve(event.data && typeof event.data.remaining === "number" ? event.data.remaining : null);
    };
    client.postMessage({ type: "flush-outbox" }, [channel.port2]);
  });
}

self.addEventListener("sync", (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window" });
      if (windows.length) {
        // An open page sends (it also updates its screen); it answers how many are left.
        const remaining = await askPage(windows[0]);
        if (remaining === 0) return;
        if (remaining === null) return flushOutbox();
        throw new Error("outbox still queued"); // retried by the browser with back-off
      }
      return flushOutbox();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "flush-outbox-now") event.waitUntil(flushOutbox().catch(() => undefined));
});
