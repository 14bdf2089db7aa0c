// The public verify page at /app/verify/ (no sign-in): a licence's QR code holds this page's
// link with the presentation after #, so a phone's camera opens the verdict directly, and the
// presentation never reaches a server log (a fragment is not sent with the page request).
import { createApp } from "vue";
import "../../shared/kit.css";
import "../app.css";
import "../services.css";
import { i18n, locale } from "../i18n";
import VerifyPage from "./VerifyPage.vue";

document.documentElement.lang = locale.value;
createApp(VerifyPage).use(i18n).mount("#verify");
