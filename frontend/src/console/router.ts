// Hash routes (the Python app serves one index.html at /console/), guarded by the signed-in role.
import { createRouter, createWebHashHistory, type RouteRecordRaw } from "vue-router";
import { t } from "./i18n";
import { can, homeRoute, onSessionExpired, restoreSession, session, type Feature } from "./stores/session";
import CaseView from "./views/CaseView.vue";
import LoginView from "./views/LoginView.vue";
import MyWorkView from "./views/MyWorkView.vue";
import NotFoundView from "./views/NotFoundView.vue";
import QueueView from "./views/QueueView.vue";

declare module "vue-router" {
  interface RouteMeta {
    public?: boolean;
    feature?: Feature;
    title?: string;
  }
}

const routes: RouteRecordRaw[] = [
  { path: "/login", component: LoginView, meta: { public: true, title: "nav.login" } },
  // Signed out, "/" goes to login without a redirect, so signing in lands on the role's own start.
  { path: "/", redirect: () => (session.user ? homeRoute() : "/login") },
  { path: "/queue", component: QueueView, meta: { feature: "queue", title: "nav.queue" } },
  { path: "/cases/:id", component: CaseView, meta: { feature: "queue", title: "nav.case" } },
  { path: "/my-work", component: MyWorkView, meta: { feature: "myWork", title: "nav.myWork" } },
  { path: "/disputes", component: () => import("./views/DisputesView.vue"), meta: { feature: "disputes", title: "nav.disputes" } },
  { path: "/report", component: () => import("./views/HotlineView.vue"), meta: { feature: "report", title: "nav.report" } },
  { path: "/hotline", redirect: "/report" },
  { path: "/ops", component: () => import("./views/OpsView.vue"), meta: { feature: "ops", title: "nav.ops" } },
  { path: "/kpis", component: () => import("./views/KpiView.vue"), meta: { feature: "kpis", title: "nav.kpis" } },
  { path: "/vitals", component: () => import("./views/VitalsView.vue"), meta: { feature: "vitals", title: "nav.vitals" } },
  { path: "/applications", component: () => import("./views/ApplicationQueueView.vue"), meta: { feature: "applications", title: "nav.applications" } },
  { path: "/applications/:id", component: () => import("./views/ApplicationView.vue"), meta: { feature: "applications", title: "nav.application" } },
  { path: "/counter", component: () => import("./views/CounterView.vue"), meta: { feature: "counter", title: "nav.counter" } },
  { path: "/catalogue", component: () => import("./views/CatalogueView.vue"), meta: { feature: "catalogue", title: "nav.catalogue" } },
  { path: "/catalogue/:code", component: () => import("./views/ServiceEditorView.vue"), meta: { feature: "catalogue", title: "nav.service" } },
  { path: "/data", component: () => import("./views/DataCatalogueView.vue"), meta: { feature: "data", title: "nav.data" } },
  { path: "/data/new", component: () => import("./views/DataNewView.vue"), meta: { feature: "data", title: "dc.newTitle" } },
  { path: "/data/:name", component: () => import("./views/DataDatasetView.vue"), meta: { feature: "data", title: "dc.datasetTitle" } },
  { path: "/access-log", component: () => import("./views/AccessLogView.vue"), meta: { feature: "accessLog", title: "nav.accessLog" } },
  { path: "/sharing", component: () => import("./views/SharingView.vue"), meta: { feature: "sharing", title: "nav.sharing" } },
  { path: "/crews", component: () => import("./views/CrewsView.vue"), meta: { feature: "crews", title: "nav.crews" } },
  // The city's configuration (admins).
  { path: "/config", redirect: "/config/routing" },
  { path: "/config/routing", component: () => import("./views/ConfigRoutingView.vue"), meta: { feature: "config", title: "config.tab.routing" } },
  { path: "/config/categories", component: () => import("./views/ConfigCategoriesView.vue"), meta: { feature: "config", title: "config.tab.categories" } },
  { path: "/config/categories/:code", component: () => import("./views/ConfigCategoryView.vue"), meta: { feature: "config", title: "config.tab.categories" } },
  { path: "/config/departments", component: () => import("./views/ConfigDepartmentsView.vue"), meta: { feature: "config", title: "config.tab.departments" } },
  { path: "/config/calendar", component: () => import("./views/ConfigCalendarView.vue"), meta: { feature: "config", title: "config.tab.calendar" } },
  // Devices and alarms (the perception API: devices and rules for admins, alarms for operators).
  { path: "/devices", component: () => import("./views/DevicesView.vue"), meta: { feature: "devices", title: "nav.devices" } },
  { path: "/devices/new", component: () => import("./views/DeviceNewView.vue"), meta: { feature: "devices", title: "deviceNew.title" } },
  { path: "/devices/import", component: () => import("./views/DeviceImportView.vue"), meta: { feature: "devices", title: "deviceImport.title" } },
  { path: "/devices/profiles", component: () => import("./views/DeviceProfilesView.vue"), meta: { feature: "devices", title: "profiles.title" } },
  { path: "/devices/:id", component: () => import("./views/DeviceView.vue"), meta: { feature: "devices", title: "nav.device" } },
  { path: "/alarm-rules", component: () => import("./views/AlarmRulesView.vue"), meta: { feature: "alarmRules", title: "rules.title" } },
  { path: "/alarms", component: () => import("./views/AlarmsView.vue"), meta: { feature: "alarms", title: "nav.alarms" } },
  // Administration of accounts, my account, and the audit log.
  { path: "/users", component: () => import("./views/UsersView.vue"), meta: { feature: "users", title: "nav.users" } },
  { path: "/users/:username", component: () => import("./views/UserView.vue"), meta: { feature: "users", title: "users.userTitle" } },
  { path: "/account", component: () => import("./views/AccountView.vue"), meta: { title: "nav.account" } },
  { path: "/audit", component: () => import("./views/AuditView.vue"), meta: { feature: "audit", title: "nav.audit" } },
  { path: "/:pathMatch(.*)*", component: NotFoundView, meta: { title: "notFound.title" } },
];

export const router = createRouter({
  history: createWebHashHistory(),
  routes,
  scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
});

router.beforeEach(async (to) => {
  await restoreSession();
  if (to.meta.public) {
    return session.user && to.path === "/login" ? homeRoute() : true;
  }
  if (!session.user) return { path: "/login", query: to.fullPath !== "/" ? { redirect: to.fullPath } : {} };
  // A temporary password or a required second factor comes before anything else.
  if (session.pending && to.path !== "/account") return "/account";
  if (to.meta.feature && !can(to.meta.feature)) return homeRoute();
  return true;
});

router.afterEach((to) => {
  if (to.meta.title) document.title = `${t(to.meta.title)} · ${t("app.name")}`;
});

onSessionExpired(() => {
  const here = router.currentRoute.value;
  if (!here.meta.public) void router.replace({ path: "/login", query: { redirect: here.fullPath, expired: "1" } });
});
