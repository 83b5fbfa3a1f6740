// The volunteer app's service worker: keeps the app's page, script and styles so it opens with
// no signal. Network first (a fresh page carries a fresh login), the saved copy when offline.
// The API is never cached here: the page keeps its own walk list and queue in IndexedDB.
const CACHE = "safezone-volunteer-v1";
const ASSETS = [
  "/volunteer/app.js",
  "/volunteer/app.css",
  "/volunteer/icon.svg",
  "/volunteer/manifest.webmanifest",
  "/static/safezone.css",
  "/static/charts.js",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then(async (cache) => {
      await cache.addAll(ASSETS);
      // The app page too (installed from a logged-in page), so it opens with no signal.
      const page = await fetch("/volunteer/", { credentials: "same-origin" });
      if (page.ok && !page.redirected) await cache.put("/volunteer/", page);
    }),
  );
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((key) => key !== CACHE).map((key) => caches.delete(key))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  const appPage = url.pathname === "/volunteer/";
  if (!appPage && !ASSETS.includes(url.pathname)) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        // Only a real app page is kept (not a login page we were redirected to).
        if (response.ok && !response.redirected) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(appPage ? "/volunteer/" : request, copy));
        }
        return response;
      })
      .catch(() => caches.match(appPage ? "/volunteer/" : request).then((hit) => hit || Response.error())),
  );
});
