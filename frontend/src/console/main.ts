import { createApp } from "vue";
import App from "./App.vue";
import { locale } from "./i18n";
import { router } from "./router";
import "./console.css";

document.documentElement.lang = locale.value;
createApp(App).use(router).mount("#console");
