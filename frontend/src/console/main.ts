import { createApp } from "vue";
import "../shared/kit.css";
import { loadVocabulary } from "../shared/vocabulary";
import App from "./App.vue";
import "./console.css";
import { i18n, locale } from "./i18n";
import { router } from "./router";

document.documentElement.lang = locale.value;
void loadVocabulary();
createApp(App).use(i18n).use(router).mount("#console");
