#!/usr/bin/env node
// Scaffolds packages/<name> with the house layout: ESM+CJS via tsup, types, vitest, biome.
//   node scripts/new-package.mjs <dir-name> "<description>"
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [dir, description = ""] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/new-package.mjs <dir-name> "<description>"');
  process.exit(2);
}
const root = join(import.meta.dirname, "..", "packages", dir);
if (existsSync(root)) {
  console.error(`packages/${dir} exists already`);
  process.exit(1);
}
mkdirSync(join(root, "src"), { recursive: true });
mkdirSync(join(root, "test"), { recursive: true });
const pkg = {
  name: `@sluice/${dir}`,
  version: "0.1.0",
  description,
  license: "MIT",
  engines: { node: ">=20.19" },
  type: "module",
  sideEffects: false,
  main: "./dist/index.cjs",
  module: "./dist/index.js",
  types: "./dist/index.d.ts",
  exports: {
    ".": {
      import: { types: "./dist/index.d.ts", default: "./dist/index.js" },
      require: { types: "./dist/index.d.cts", default: "./dist/index.cjs" },
    },
    "./package.json": "./package.json",
  },
  files: ["dist", "README.md", "LICENSE"],
  scripts: {
    build: "tsup",
    typecheck: "tsc --noEmit -p tsconfig.json",
    lint: "biome check src test",
    test: "vitest run",
  },
  dependencies: {},
  devDependencies: {},
};
writeFileSync(join(root, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(
  join(root, "tsconfig.json"),
  `${JSON.stringify({ extends: "../../tsconfig.base.json", include: ["src", "test", "*.ts"] }, null, 2)}\n`,
);
writeFileSync(
  join(root, "tsup.config.ts"),
  `import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
});
`,
);
writeFileSync(join(root, "src", "index.ts"), "export {};\n");
writeFileSync(join(root, "README.md"), `# @sluice/${dir}\n\n${description}\n`);
// npm shows a package's own LICENSE; every package ships a copy of the repository's
copyFileSync(new URL("../LICENSE", import.meta.url), join(root, "LICENSE"));
console.log(`created packages/${dir}`);
