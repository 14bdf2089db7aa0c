// The citizen app at /app/: report a problem, follow it, see the city's map; and the services
// (the service hall, applications, the wallet). A PWA that works offline: the service worker
// (public/app/sw.js) caches the shell and city data, and reports wait in the IndexedDB outbox
// until they can be sent.
import { createApp } from "vue";
import "../shared/kit.css";
import { loadVocabulary } from "../shared/vocabulary";
import App from "./App.vue";
import "./app.css";
import "./services.css";
import { i18n, locale } from "./i18n";
import { onSent, startOutbox } from "./offline/queue";
import { router } from "./router";
import { loadCatalog } from "./stores/catalog";
import { loadReports, remember } from "./stores/reports";
import { refreshUser } from "./stores/session";

document.documentElement.lang = locale.value;

// A report the outbox delivered (now, or while the app was closed) is followed from this phone.
onSent((item) => {
  if (item.result) {
    remember(item.result, Boolean(item.auth));
    void loadReports();
  }
});

createApp(App).use(i18n).use(router).mount("#app");

void loadVocabulary();
void loadCatalog();
void refreshUser();
startOutbox();

if ("serviceWorker" in navigator && window.isSecureContext) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => undefined);
  });
}
