import { defineConfig } from "vite";

// A plain page: index.html → src/main.ts. The workspace packages resolve to their built dist/
// through their package.json exports, as they would from npm.
export default defineConfig({
  build: {
    target: "es2022",
    sourcemap: true,
    rollupOptions: {
      onwarn(warning, warn) {
        // runtime-core loads @sluice/timeline-indexeddb lazily (for createTestTimelineStore); this
        // page imports it up front anyway, so Vite's note that the lazy import stays in the main
        // chunk is expected.
        if (warning.message.includes("dynamic import will not move module into another chunk")) return;
        warn(warning);
      },
    },
  },
  server: { port: 5173 },
  preview: { port: 4173 },
});
