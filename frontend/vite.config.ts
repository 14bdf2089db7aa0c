import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import vue from "@vitejs/plugin-vue";
import { defineConfig, type Plugin } from "vite";

// The API reference at /apidocs/ (public/apidocs) runs Swagger UI from the npm package, copied
// into the build, so the docs too work with no CDN.
function swaggerUi(): Plugin {
  return {
    name: "cityloop-swagger-ui",
    closeBundle() {
      const from = resolve(__dirname, "node_modules/swagger-ui-dist");
      const to = resolve(__dirname, "dist/apidocs");
      mkdirSync(to, { recursive: true });
      for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"]) {
        copyFileSync(resolve(from, file), resolve(to, file));
      }
    },
  };
}

// The citizen app loads one screen first and fetches the others when opened. Its service worker
// must still cache them all for offline use, so the build lists every file the app's page can
// reach (static and dynamic imports, with their styles) in /app/precache.json.
function appPrecacheList(): Plugin {
  return {
    name: "cityloop-app-precache",
    writeBundle(options, bundle) {
      const entry = Object.values(bundle).find(
        (file) => file.type === "chunk" && file.isEntry && file.name === "app",
      );
      if (!entry || entry.type !== "chunk") throw new Error("no app entry in the bundle");
      const files = new Set<string>();
      const visit = (name: string) => {
        if (files.has(name)) return;
        files.add(name);
        const file = bundle[name];
        if (file?.type !== "chunk") return;
        for (const css of file.viteMetadata?.importedCss ?? []) files.add(css);
        for (const asset of file.viteMetadata?.importedAssets ?? []) files.add(asset);
        [...file.imports, ...file.dynamicImports].forEach(visit);
      };
      visit(entry.fileName);
      const list = [...files].sort().map((name) => "/" + name);
      mkdirSync(resolve(options.dir ?? "dist", "app"), { recursive: true });
      writeFileSync(resolve(options.dir ?? "dist", "app/precache.json"), JSON.stringify(list));
    },
  };
}

// Pages from one build: the citizen app at /app/ (and its licence check at /app/verify/) and
// the staff console at /console/.
// The Python app serves dist/ (see cityloop.app), so nothing is fetched from a CDN at runtime.
export default defineConfig({
  plugins: [vue(), swaggerUi(), appPrecacheList()],
  base: "/",
  // vue-i18n's esm-bundler build, trimmed: the Composition API only (no legacy VueI18n class),
  // no global <i18n-t>/<i18n-d>/<i18n-n> components nor v-t, no devtools in production. Its
  // message compiler stays (the catalogues are compiled in the browser) and is JIT: messages
  // become an AST that vue-i18n interprets, never code run through eval or new Function, so
  // the pages keep a Content-Security-Policy without 'unsafe-eval'.
  define: {
    __VUE_I18N_FULL_INSTALL__: false,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
    __INTLIFY_DROP_MESSAGE_COMPILER__: false,
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: {
        app: resolve(__dirname, "app/index.html"),
        // The public licence check at /app/verify/ (a QR code's link): its own small page.
        verify: resolve(__dirname, "app/verify/index.html"),
        console: resolve(__dirname, "console/index.html"),
      },
    },
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000", "/open311": "http://127.0.0.1:8000" },
  },
});
