import { describeThrown, isThenable, SystemError } from "@sluice/errors";
import type { ArtifactContainer } from "./container.js";
import { report } from "./errors.js";
import { type ArtifactRecord, type Cleanup, labelOf, type Slot } from "./records.js";

// Cleanups always run in the container that owns the record: its `onError` hears of failures and
// its listeners hear `artifact:disposed`.

/** Cleanups taken from an instance that lost its value, to be run once the walk is over. */
export interface PendingCleanup {
  readonly record: ArtifactRecord;
  readonly param: string | number | undefined;
  readonly cleanups: Cleanup[];
  /** What the instance was built from (its edges are forgotten by then): cleaned only after it. */
  readonly builtFrom: ReadonlySet<Slot> | undefined;
}

/**
 * Runs cleanups newest first; a failing one is reported and the rest still run. With `announce`,
 * emits `artifact:disposed` afterwards. With `signal` (a disposal's), each is waited for only until
 * it aborts: see {@link runUntilAborted}.
 */
export async function runCleanups(
  record: ArtifactRecord,
  param: string | number | undefined,
  cleanups: Cleanup[],
  announce: boolean,
  signal?: AbortSignal,
): Promise<void> {
  for (let i = cleanups.length - 1; i >= 0; i--) {
    try {
      if (signal === undefined) await cleanups[i]!();
      else await runUntilAborted(record, param, cleanups[i]!, signal);
    } catch (error) {
      reportFailed(record, param, error, false);
    }
  }
  if (announce) announceDisposed(record, param);
}

/**
 * Runs one cleanup of a disposal given `signal`, and waits for it until the signal aborts. The one
 * still running then is reported (`ABORTED`) and left to finish on its own; once aborted, the rest
 * are started one after the other without waiting for any. Either way a later rejection is still
 * reported, so moving on never hides a failure.
 */
async function runUntilAborted(
  record: ArtifactRecord,
  param: string | number | undefined,
  cleanup: Cleanup,
  signal: AbortSignal,
): Promise<void> {
  const out = cleanup();
  if (!isThenable(out)) return;
  if (signal.aborted) {
    out.then(undefined, (error: unknown) => reportFailed(record, param, error, true));
    return;
  }
  let abandoned = false;
  const settled = await new Promise<boolean>((resolve, reject) => {
    const stop = (): void => {
      abandoned = true;
      resolve(false);
    };
    signal.addEventListener("abort", stop, { once: true });
    out.then(
      () => {
        signal.removeEventListener("abort", stop);
        resolve(true);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", stop);
        if (abandoned) reportFailed(record, param, error, true);
        else reject(error);
      },
    );
  });
  if (settled) return;
  const owner = record.owner;
  const label = labelOf(record.key, param);
  report(
    owner._onError,
    new SystemError(
      "ABORTED",
      `cleanup of artifact "${label}" in container "${owner.name}" had not settled when the signal given to dispose() aborted; disposal went on without waiting for it, so what "${label}" was built from may be cleaned while this cleanup still runs. Make the cleanup settle sooner, or abort the signal later`,
      { cause: signal.reason, details: { key: record.key, container: owner.name, phase: "cleanup" } },
    ),
  );
}

/** Resolves once `work` settles or, sooner, once `signal` (if given) aborts. Never rejects. */
export function untilAborted(work: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  const done = work.then(
    () => undefined,
    () => undefined,
  );
  if (signal === undefined) return done;
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    signal.addEventListener("abort", stop, { once: true });
    void done.then(() => {
      signal.removeEventListener("abort", stop);
      resolve();
    });
  });
}

/** Reports a cleanup that threw or rejected (`late`: after its disposal stopped waiting for it). */
function reportFailed(
  record: ArtifactRecord,
  param: string | number | undefined,
  error: unknown,
  late: boolean,
): void {
  const owner = record.owner;
  report(
    owner._onError,
    new SystemError(
      "FACTORY_FAILED",
      `cleanup of artifact "${labelOf(record.key, param)}" in container "${owner.name}" failed${late ? " after its disposal stopped waiting for it" : ""}: ${describeThrown(error)}`,
      { cause: error, details: { key: record.key, container: owner.name, phase: "cleanup" } },
    ),
  );
}

/**
 * Runs collected cleanups one instance after the other, in the order they were collected (waiting
 * for each only until `signal` aborts, if given). Until they are done, each container owning
 * something their instances were built from knows of them (`_cleaning`): its disposal waits for
 * them before cleaning that up from under them.
 */
export function runCleanupBatch(collected: PendingCleanup[], signal?: AbortSignal): Promise<void> {
  const running = runInOrder(collected, signal);
  let waiting: Set<ArtifactContainer<any>> | undefined;
  for (const item of collected) {
    for (const dependency of item.builtFrom ?? []) {
      const owner = dependency.record.owner;
      if (!owner._disposed) (waiting ??= new Set()).add(owner);
    }
  }
  if (waiting === undefined) return running;
  for (const owner of waiting) (owner._cleaning ??= new Set()).add(running);
  const forget = (): void => {
    for (const owner of waiting) {
      owner._cleaning?.delete(running);
      if (owner._cleaning?.size === 0) owner._cleaning = undefined;
    }
  };
  return running.then(forget);
}

async function runInOrder(collected: PendingCleanup[], signal: AbortSignal | undefined): Promise<void> {
  for (const item of collected) await runCleanups(item.record, item.param, item.cleanups, true, signal);
}

/** Cleanups of a value that will never be kept (late after a timeout, stale, or disposed). */
export function releaseLate(
  record: ArtifactRecord,
  param: string | number | undefined,
  cleanups: Cleanup[],
): void {
  void runCleanups(record, param, cleanups, false);
}

/** Emits `artifact:disposed` for `record[param]` from its owner. */
export function announceDisposed(record: ArtifactRecord, param: string | number | undefined): void {
  const owner = record.owner;
  owner._events?.emit("artifact:disposed", { container: owner.name, key: record.key, param });
}
