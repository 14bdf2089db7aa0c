import { createRouter, createWebHashHistory } from "vue-router";
import { signedIn } from "./stores/session";
import ApplicationView from "./views/ApplicationView.vue";
import DataAccessView from "./views/DataAccessView.vue";
import IdentityView from "./views/IdentityView.vue";
import LoginView from "./views/LoginView.vue";
import MapView from "./views/MapView.vue";
import MyApplicationsView from "./views/MyApplicationsView.vue";
import MyReportsView from "./views/MyReportsView.vue";
import OpenDatasetView from "./views/OpenDatasetView.vue";
import OpenDataView from "./views/OpenDataView.vue";
import ReportView from "./views/ReportView.vue";
import ServiceGuideView from "./views/ServiceGuideView.vue";
import ServiceHallView from "./views/ServiceHallView.vue";
import TrackView from "./views/TrackView.vue";
import WalletView from "./views/WalletView.vue";

// Hash routing: the server serves /app/index.html and needs no fallback route. The views are
// imported eagerly so the service worker's shell cache holds the whole app (no lazy chunks).
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: "/", name: "report", component: ReportView, meta: { title: "nav.report" } },
    { path: "/reports", name: "reports", component: MyReportsView, meta: { title: "nav.reports" } },
    { path: "/track", name: "trackByCode", component: TrackView, meta: { title: "track.codeTitle" } },
    { path: "/track/:token", name: "track", component: TrackView, meta: { title: "track.title" } },
    { path: "/case/:id(\\d+)", name: "case", component: TrackView, meta: { title: "track.title" } },
    { path: "/map", name: "map", component: MapView, meta: { title: "nav.map" } },
    { path: "/login", name: "login", component: LoginView, meta: { title: "nav.account" } },
    { path: "/services", name: "hall", component: ServiceHallView, meta: { title: "hall.title" } },
    { path: "/services/:code", name: "guide", component: ServiceGuideView, meta: { title: "guide.title" } },
    // The open-data portal: public, signed in or not.
    { path: "/open-data", name: "open-data", component: OpenDataView, meta: { title: "od.title" } },
    { path: "/open-data/:name", name: "open-dataset", component: OpenDatasetView, meta: { title: "od.datasetTitle" } },
    // The applicant's own pages need a sign-in (`auth`).
    { path: "/applications", name: "applications", component: MyApplicationsView, meta: { title: "myapps.title", auth: true } },
    { path: "/applications/:id(\\d+)", name: "application", component: ApplicationView, meta: { title: "appl.title", auth: true } },
    { path: "/wallet", name: "wallet", component: WalletView, meta: { title: "wallet.title", auth: true } },
    { path: "/data-access", name: "data-access", component: DataAccessView, meta: { title: "access.title", auth: true } },
    { path: "/data-access/enterprise/:uscc", name: "enterprise-data-access", component: DataAccessView, meta: { title: "access.title", auth: true } },
    { path: "/identity", name: "identity", component: IdentityView, meta: { title: "identity.title", auth: true } },
    { path: "/:pathMatch(.*)*", redirect: "/" },
  ],
  scrollBehavior: () => ({ top: 0 }),
});

router.beforeEach((to) => {
  if (to.meta.auth && !signedIn.value) return { path: "/login", query: { next: to.fullPath } };
  return true;
});
