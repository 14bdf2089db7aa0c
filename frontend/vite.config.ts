import { copyFileSync, mkdirSync } from "node:fs";
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

// Pages from one build: the citizen app at /app/ (and its licence check at /app/verify/) and
// the staff console at /console/.
// The Python app serves dist/ (see cityloop.app), so nothing is fetched from a CDN at runtime.
export default defineConfig({
  plugins: [vue(), swaggerUi()],
  base: "/",
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
