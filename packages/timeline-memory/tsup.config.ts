import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
  // Syntax minification makes esbuild write the value of a constant into the code that uses it (a
  // module's constants used after their declaration, when the module has no imports, and exported
  // ones across modules): the bundle's top-level `var`s are otherwise loaded from the module's
  // context and checked at every use, in the append path's loops too (about 3 % of a run of the
  // runtime with this store).
  esbuildOptions(options) {
    options.minifySyntax = true;
  },
});
