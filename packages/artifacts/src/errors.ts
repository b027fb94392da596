import { catchRejection, SystemError } from "@sluice/errors";
import type { ResolveResult } from "./types.js";

/** Where a container's `onError` goes to: the errors no caller is waiting for. */
export type ErrorSink = (error: SystemError) => void;

function defaultOnError(error: SystemError): void {
  console.error(error);
}

/** Hands `error` to `onError` (default `console.error`). Never throws, and leaves no unhandled rejection. */
export function report(onError: ErrorSink | undefined, error: SystemError): void {
  try {
    const out: unknown = (onError ?? defaultOnError)(error);
    // an async onError that fails is dropped as a throwing one is
    if (out !== undefined) catchRejection(out, onErrorFailed);
  } catch {
    onErrorFailed();
  }
}

/** onError itself failed (threw or rejected): there is nowhere left to report to. */
function onErrorFailed(): void {}

/** `DISPOSED`: `operation` was called on the disposed container `container`. */
export function disposedError(container: string, operation: string): SystemError {
  return new SystemError("DISPOSED", `${operation}: container "${container}" has been disposed`, {
    details: { container },
  });
}

/** A failed resolution as `resolve()` hands it out: resolutions never reject. */
export function failure(error: SystemError): Promise<ResolveResult<never>> {
  return Promise.resolve({ ok: false, error });
}

/** The value of a successful resolution; throws the error of a failed one (what `require` does). */
export function valueOrThrow<T>(result: ResolveResult<T>): T {
  if (result.ok) return result.value;
  throw result.error;
}
