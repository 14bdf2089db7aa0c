import { createRouter, createWebHashHistory } from "vue-router";
import LoginView from "./views/LoginView.vue";
import MapView from "./views/MapView.vue";
import MyReportsView from "./views/MyReportsView.vue";
import ReportView from "./views/ReportView.vue";
import TrackView from "./views/TrackView.vue";

// Hash routing: the server serves /app/index.html and needs no fallback route. The views are
// imported eagerly so the service worker's shell cache holds the whole app (no lazy chunks).
export const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: "/", name: "report", component: ReportView, meta: { title: "nav.report" } },
    { path: "/reports", name: "reports", component: MyReportsView, meta: { title: "nav.reports" } },
    { path: "/track/:token", name: "track", component: TrackView, meta: { title: "track.title" } },
    { path: "/case/:id(\\d+)", name: "case", component: TrackView, meta: { title: "track.title" } },
    { path: "/map", name: "map", component: MapView, meta: { title: "nav.map" } },
    { path: "/login", name: "login", component: LoginView, meta: { title: "nav.account" } },
    { path: "/:pathMatch(.*)*", redirect: "/" },
  ],
  scrollBehavior: () => ({ top: 0 }),
});
