import { defineConfig, type Options } from "tsup";

const shared: Options = {
  dts: true,
  sourcemap: true,
  // Both builds write into dist/ at once, so neither may empty it: `pnpm build` removes it first.
  clean: false,
  target: "es2022",
  // vitest is an optional peer: only the conformance-vitest entry imports it
  external: ["vitest"],
};

export default defineConfig([
  {
    ...shared,
    entry: {
      index: "src/index.ts",
      conformance: "src/conformance/index.ts",
      "conformance-vitest": "src/conformance/vitest.ts",
    },
    format: ["esm"],
  },
  // No CommonJS build of conformance-vitest: vitest refuses to be require()d ("Vitest cannot be
  // imported in a CommonJS module using require()"), so that build could only throw. The subpath is
  // ESM only; a CommonJS test file still loads it where Node can require() an ES module (20.19+).
  {
    ...shared,
    entry: { index: "src/index.ts", conformance: "src/conformance/index.ts" },
    format: ["cjs"],
  },
]);
