import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    conformance: "src/conformance/index.ts",
    "conformance-vitest": "src/conformance/vitest.ts",
  },
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
  // vitest is an optional peer: only the conformance-vitest entry imports it
  external: ["vitest"],
});
