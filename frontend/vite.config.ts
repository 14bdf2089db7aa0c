import { resolve } from "node:path";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

// Two pages from one build: the citizen app at /app/ and the staff console at /console/.
// The Python app serves dist/ (see cityloop.app), so nothing is fetched from a CDN at runtime.
export default defineConfig({
  plugins: [vue()],
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: {
        app: resolve(__dirname, "app/index.html"),
        console: resolve(__dirname, "console/index.html"),
      },
    },
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000", "/open311": "http://127.0.0.1:8000" },
  },
});
