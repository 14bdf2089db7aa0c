import { createRouter, createWebHashHistory } from "vue-router";
import { signedIn } from "./stores/session";
import ReportView from "./views/ReportView.vue";

// Only the first screen (reporting a problem) is in the first load; every other screen is its
// own chunk, fetched when first opened. The service worker still caches every chunk at install
// (it reads the build's /app/precache.json), so the whole app works offline.
const ApplicationView = () => import("./views/ApplicationView.vue");
const DataAccessView = () => import("./views/DataAccessView.vue");
const IdentityView = () => import("./views/IdentityView.vue");
const LoginView = () => import("./views/LoginView.vue");
const MapView = () => import("./views/MapView.vue");
const MyApplicationsView = () => import("./views/MyApplicationsView.vue");
const MyReportsView = () => import("./views/MyReportsView.vue");
const OpenDatasetView = () => import("./views/OpenDatasetView.vue");
const OpenDataView = () => import("./views/OpenDataView.vue");
const ServiceGuideView = () => import("./views/ServiceGuideView.vue");
const ServiceHallView = () => import("./views/ServiceHallView.vue");
const TrackView = () => import("./views/TrackView.vue");
const TransparencyView = () => import("./views/TransparencyView.vue");
const WalletView = () => import("./views/WalletView.vue");

// Hash routing: the server serves /app/index.html and needs no fallback route.
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
    // How the city is doing: public figures, the closed-case map and the monthly report.
    { path: "/transparency", name: "transparency", component: TransparencyView, meta: { title: "tr.title" } },
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
