import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The office console: a second entry of the same UI (shared catalogues, styles and generated
// types), built into dist-console/site, which onsite-server embeds and serves at / with its
// files under /console/. `npm run dev:console` serves it on :5174 against a server on :8787.
export default defineConfig({
  plugins: [svelte()],
  base: "/console/",
  clearScreen: false,
  server: {
    port: 5174,
    strictPort: true,
    proxy: { "/api": "http://127.0.0.1:8787" },
  },
  build: {
    outDir: "dist-console/site",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    rollupOptions: { input: "console.html" },
  },
});
