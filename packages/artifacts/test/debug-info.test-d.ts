// Type tests: never run, type-checked by `pnpm typecheck` (tsc over test/). A `@ts-expect-error`
// marks code that must not compile; the rest must compile.

import type { ErrorCode } from "@sluice/errors";
import { expectTypeOf } from "vitest";
import type { ArtifactDebugError } from "../src/index.js";

// The code of an artifact's last failure is one of the stable codes, so a `switch` on it completes
// them; any other string is still accepted.
expectTypeOf<ArtifactDebugError["code"]>().toEqualTypeOf<ErrorCode | (string & {})>();
expectTypeOf<"NOT_FOUND">().toExtend<ArtifactDebugError["code"]>();
expectTypeOf<string>().toExtend<ArtifactDebugError["code"]>();
