// Type tests: never run, type-checked by `pnpm typecheck` (tsc over test/). A `@ts-expect-error`
// marks code that must not compile (an unused one is itself an error, TS2578); the rest must compile.

import type { ErrorCode } from "@sluice/errors";
import { expectTypeOf } from "vitest";
import type { RunInfo } from "../src/index.js";

type RunErrorCode = NonNullable<RunInfo["error"]>["code"];

// A run's error code is one of the stable codes, so a `switch` on it completes them; any other
// string (a code from a newer version, a RunInfo set by hand) is still accepted.
expectTypeOf<RunErrorCode>().toEqualTypeOf<ErrorCode | (string & {})>();
expectTypeOf<"STEP_FAILED">().toExtend<RunErrorCode>();
expectTypeOf<"SOME_FUTURE_CODE">().toExtend<RunErrorCode>();
expectTypeOf<string>().toExtend<RunErrorCode>();

const failed: RunInfo["error"] = { code: "TIMEOUT", message: "step s timed out" };
void failed;
// @ts-expect-error a code is a string, never a number
const numbered: RunInfo["error"] = { code: 408, message: "timed out" };
void numbered;
