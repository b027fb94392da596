import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { entryTargets, inspectPackage, packageOf } from "../src/inspect.mjs";

const scratch = mkdtempSync(join(tmpdir(), "sluice-pack-check-test-"));
after(() => rmSync(scratch, { recursive: true, force: true }));
let count = 0;

const map = (source) =>
  JSON.stringify({ version: 3, sources: [source], sourcesContent: ["export {};"], mappings: "" });

/** A tarball's package/ directory like the ones tsup and pnpm pack make, changed by `edit`. */
function fixture(edit = () => {}) {
  const manifest = {
    name: "@sluice/sample",
    version: "0.1.0",
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
    engines: { node: ">=20.19" },
    files: ["dist", "README.md", "LICENSE"],
    dependencies: { "@sluice/errors": "^0.1.0" },
    peerDependencies: { "@sluice/extra": ">=0.1.0" },
    peerDependenciesMeta: { "@sluice/extra": { optional: true } },
    devDependencies: { "dev-only": "^1.0.0" },
  };
  const files = {
    "README.md": "# sample\n",
    LICENSE: "MIT License\n",
    "dist/index.js": [
      'import { SystemError } from "@sluice/errors";',
      'import { readFileSync } from "node:fs";',
      'import { helper } from "./chunk.js";',
      'export const load = () => import("@sluice/extra");',
      "export { SystemError, readFileSync, helper };",
      "//# sourceMappingURL=index.js.map",
    ].join("\n"),
    "dist/chunk.js": "export const helper = 1;\n",
    "dist/index.js.map": map("../src/index.ts"),
    "dist/index.cjs":
      'const { SystemError } = require("@sluice/errors");\nmodule.exports = { SystemError };\n',
    "dist/index.d.ts":
      'import { SystemError } from "@sluice/errors";\nexport { SystemError };\nexport * from "./types.js";\n',
    "dist/types.d.ts": "export type N = number;\n",
    "dist/index.d.cts": 'import { SystemError } from "@sluice/errors";\nexport { SystemError };\n',
  };
  edit(manifest, files);
  const dir = join(scratch, `p${count++}`);
  for (const [path, text] of Object.entries({ ...files, "package.json": JSON.stringify(manifest) })) {
    if (text === undefined) continue;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const workspace = new Map([
  ["@sluice/errors", "0.1.0"],
  ["@sluice/extra", "0.1.0"],
]);
const problemsOf = async (edit) => (await inspectPackage(fixture(edit), workspace)).problems;

test("a package as tsup and pnpm pack make them has no problem", async () => {
  const { problems, entries } = await inspectPackage(fixture(), workspace);
  assert.deepEqual(problems, []);
  // Static imports only: the optional peer is imported dynamically, so loading needs only errors.
  assert.deepEqual(entries.get("dist/index.js"), ["@sluice/errors"]);
  assert.deepEqual(entries.get("dist/index.cjs"), ["@sluice/errors"]);
});

test("an exports target missing from the tarball is named by its subpath and conditions", async () => {
  const problems = await problemsOf((_, files) => {
    files["dist/index.cjs"] = undefined;
  });
  assert.ok(problems.includes('exports["."]["require"]["default"] → ./dist/index.cjs is not in the tarball'));
  assert.ok(problems.includes("main → ./dist/index.cjs is not in the tarball"));
});

test("a subpath export pointing to a file that is not built fails", async () => {
  const problems = await problemsOf((m) => {
    m.exports["./conformance"] = { types: "./dist/conformance.d.ts", default: "./dist/conformance.js" };
  });
  assert.ok(
    problems.includes('exports["./conformance"]["types"] → ./dist/conformance.d.ts is not in the tarball'),
  );
  assert.ok(
    problems.includes('exports["./conformance"]["default"] → ./dist/conformance.js is not in the tarball'),
  );
});

test("a runtime import of a devDependency fails, in ESM and CommonJS alike", async () => {
  const problems = await problemsOf((_, files) => {
    files["dist/index.js"] += '\nimport "dev-only";\n';
    files["dist/index.cjs"] += 'require("dev-only/sub");\n';
  });
  assert.ok(
    problems.includes(
      'dist/index.js imports "dev-only" (import-statement), but dev-only is not in dependencies or peerDependencies (only in devDependencies, which users do not get)',
    ),
    problems.join("\n"),
  );
  assert.ok(problems.some((p) => p.startsWith('dist/index.cjs imports "dev-only/sub" (require-call)')));
});

test("an import from a chunk the entry reaches counts; one of an undeclared package fails", async () => {
  const problems = await problemsOf((_, files) => {
    files["dist/chunk.js"] = 'import mitt from "mitt";\nexport const helper = mitt;\n';
  });
  assert.deepEqual(problems, [
    'dist/chunk.js imports "mitt" (import-statement), but mitt is not in dependencies or peerDependencies',
  ]);
});

test("a relative import of a file that is not shipped fails", async () => {
  const problems = await problemsOf((_, files) => {
    files["dist/chunk.js"] = undefined;
    files["dist/types.d.ts"] = undefined;
  });
  assert.ok(
    problems.some((p) => p.includes("dist/index.js") && p.includes("./chunk.js")),
    problems.join("\n"),
  );
  assert.ok(
    problems.includes(
      'dist/index.d.ts imports "./types.js", which resolves to no declaration file in the tarball',
    ),
  );
});

test("a declaration file importing an undeclared package fails; its @types package would do", async () => {
  const importing = (deps) => (m, files) => {
    files["dist/index.d.ts"] +=
      'import type { Database } from "better-sqlite3";\nexport type D = Database;\n';
    Object.assign(m.dependencies, deps);
  };
  assert.deepEqual(await problemsOf(importing({})), [
    'dist/index.d.ts imports "better-sqlite3" (type import), but better-sqlite3 / @types/better-sqlite3 is not in dependencies or peerDependencies',
  ]);
  assert.deepEqual(await problemsOf(importing({ "@types/better-sqlite3": "^7.6.0" })), []);
});

test("a /// <reference types> needs its @types package declared", async () => {
  const problems = await problemsOf((_, files) => {
    files["dist/index.d.ts"] = `/// <reference types="node" />\n${files["dist/index.d.ts"]}`;
  });
  assert.deepEqual(problems, [
    'dist/index.d.ts references the types "node", but node / @types/node is not in dependencies or peerDependencies',
  ]);
});

test("a workspace: range left in the manifest, or a range the workspace version misses, fails", async () => {
  const problems = await problemsOf((m) => {
    m.dependencies["@sluice/errors"] = "workspace:^";
    m.peerDependencies["@sluice/extra"] = "^0.2.0";
  });
  assert.deepEqual(problems, [
    'package.json dependencies["@sluice/errors"] is "workspace:^": a protocol a registry cannot resolve',
    'package.json peerDependencies["@sluice/extra"] is "^0.2.0", which the workspace\'s @sluice/extra@0.1.0 does not satisfy',
  ]);
});

test("files outside dist/, a missing README or LICENSE, a missing sideEffects or engines and a map without sources fail", async () => {
  const problems = await problemsOf((m, files) => {
    files["src/index.ts"] = "export {};\n";
    files["README.md"] = undefined;
    files.LICENSE = undefined;
    m.engines = undefined;
    files["dist/index.js.map"] = JSON.stringify({ version: 3, sources: ["../src/index.ts"], mappings: "" });
    m.sideEffects = undefined;
  });
  assert.deepEqual(
    problems.sort(),
    [
      'package.json has no "sideEffects" (every package says false, or lists the files that have some)',
      "dist/index.js.map lacks the text of ../src/index.ts (sourcesContent), which the tarball does not ship",
      "the tarball has no README.md",
      "the tarball has no LICENSE (copy the repository's into the package)",
      'package.json has no "engines.node" (the Node versions the package runs on: ">=20.19")',
      'the tarball ships src/index.ts, outside dist/ (check "files" in package.json)',
    ].sort(),
  );
});

test("exports conditions: types first, default last, and every subpath has types", async () => {
  const problems = await problemsOf((m) => {
    m.exports["."].import = { default: "./dist/index.js", types: "./dist/index.d.ts" };
    m.exports["./plain"] = "./dist/chunk.js";
  });
  assert.deepEqual(
    problems.sort(),
    [
      'exports["."]["import"]: "default" must be the last condition (Node never reads past it)',
      'exports["."]["import"]: "types" must be the first condition (TypeScript takes the first that matches)',
      'exports["./plain"] has no "types" condition: TypeScript users get no types for it',
    ].sort(),
  );
});

test("entryTargets and packageOf", () => {
  assert.deepEqual(entryTargets({ exports: "./a.js", typesVersions: { "*": { x: ["./x.d.ts"] } } }), [
    ['exports["."]', "./a.js"],
    ['typesVersions["*"]["x"][0]', "./x.d.ts"],
  ]);
  assert.equal(packageOf("@sluice/timeline/conformance/vitest"), "@sluice/timeline");
  assert.equal(packageOf("fake-indexeddb/auto"), "fake-indexeddb");
});
