import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import ts from "typescript";
import { undocumentedSymbols } from "../src/public-docs.mjs";

const scratch = mkdtempSync(join(tmpdir(), "public-docs-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const options = { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler };

test("every export and public member without a doc comment is named, once; private, #, type parameters and @internal are not", () => {
  writeFileSync(
    join(scratch, "lib.d.ts"),
    `/** Documented. */
export declare function documented(): void;
export declare function bare(): void;
/** A class. */
export declare class Thing<T> {
  #secret;
  private hidden;
  /** @internal */
  plumbing(): void;
  /** Documented member. */
  shown(): T;
  undocumented(): void;
  static make(): Thing<number>;
}
/** An interface. */
export interface Shape {
  /** Documented field. */
  a: number;
  b: string;
}
export type Alias = Shape;
`,
  );
  writeFileSync(join(scratch, "other.d.ts"), 'export { bare, documented } from "./lib.js";\n');
  writeFileSync(
    join(scratch, "entries.ts"),
    'import * as e0 from "./lib.js";\nimport * as e1 from "./other.js";\nexport const entries = [e0, e1];\n',
  );
  assert.deepEqual(undocumentedSymbols(join(scratch, "entries.ts"), options).sort(), [
    "./lib.js: Alias",
    "./lib.js: Shape.b",
    "./lib.js: Thing.make",
    "./lib.js: Thing.undocumented",
    "./lib.js: bare",
  ]);
});

test("a fully documented module gives nothing; an unresolvable one is named", () => {
  writeFileSync(join(scratch, "good.d.ts"), "/** Documented. */\nexport declare const x: number;\n");
  writeFileSync(
    join(scratch, "entries2.ts"),
    'import * as e0 from "./good.js";\nimport * as e1 from "./missing.js";\nexport const entries = [e0, e1];\n',
  );
  assert.deepEqual(undocumentedSymbols(join(scratch, "entries2.ts"), options), [
    "./missing.js: its declarations could not be read",
  ]);
});
