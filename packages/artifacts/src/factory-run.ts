import { isThenable, SystemError } from "@sluice/errors";
import { runCleanups } from "./cleanups.js";
import { disposedError } from "./errors.js";
import { FactoryContext } from "./factory-context.js";
import { type ArtifactRecord, type ChainNode, labelOf, type Slot } from "./records.js";
import { backoffDelay, isRetryable, sleep } from "./retry.js";

/** What running a factory came to: the value with the context of the attempt that made it, or why not. */
export type Outcome = { ok: true; value: unknown; ctx: FactoryContext } | { ok: false; error: SystemError };

/**
 * Runs the factory of `record` (owned by the container that builds it) until an attempt succeeds,
 * the retries run out or the error is one a retry cannot fix. Each attempt gets a fresh context and
 * the template's time limit; the owner emits `build:start`, then `build:complete` or, once it gives
 * up, `build:error`. A failed attempt's cleanups run before the next one starts.
 */
export async function runFactory(
  record: ArtifactRecord,
  slot: Slot,
  node: ChainNode,
  param: string | number | undefined,
): Promise<Outcome> {
  const owner = record.owner;
  const retry = record.retry;
  // A nested build starts on a fresh stack, so a deep (or runaway) dependency chain cannot
  // overflow it: the chain lives in ChainNodes, not in stack frames.
  if (node.prev !== undefined) {
    await undefined;
    if (owner._disposed) return { ok: false, error: disposedDuringBuild(record, param) };
  }
  for (let attempt = 1; ; attempt++) {
    const ctx = new FactoryContext(owner, record, slot, node, param);
    // Taken whether or not anyone listens yet: a listener may subscribe while the attempt runs.
    const started = Date.now();
    owner._events?.emit("build:start", { container: owner.name, key: record.key, param, attempt });
    if (record.scope === "singleton") slot.abortBuild = () => ctx.abandon();
    let error: SystemError;
    /** Given up because the slot was invalidated mid-attempt: the caller builds afresh at once. */
    let invalidated = false;
    try {
      const value = await runAttempt(record, ctx);
      ctx.finished = true;
      slot.abortBuild = undefined;
      owner._events?.emit("build:complete", {
        container: owner.name,
        key: record.key,
        param,
        value,
        durationMs: Date.now() - started,
      });
      return { ok: true, value, ctx };
    } catch (thrown) {
      ctx.finished = true;
      slot.abortBuild = undefined;
      invalidated = ctx.abandoned && !owner._disposed;
      error = SystemError.from(
        thrown,
        "FACTORY_FAILED",
        `factory of artifact "${labelOf(record.key, param)}" in container "${owner.name}" failed`,
      );
      ctx.abandon();
      if (ctx.cleanups !== undefined) {
        const cleanups = ctx.cleanups;
        ctx.cleanups = undefined;
        await runCleanups(record, param, cleanups, false);
      }
    }
    // No retry (and its backoff) for a stale attempt, nor build:error: the build starts over.
    if (invalidated) return { ok: false, error };
    if (retry !== undefined && attempt <= retry.attempts && isRetryable(error) && !owner._disposed) {
      await sleep(backoffDelay(retry, attempt));
      // No attempt starts after dispose(): a container disposed during the wait gives up here.
      if (!owner._disposed) continue;
      error = disposedDuringBuild(record, param);
    }
    owner._events?.emit("build:error", {
      container: owner.name,
      key: record.key,
      param,
      error,
      attempts: attempt,
    });
    return { ok: false, error };
  }
}

/** `DISPOSED`, for a build whose container was disposed before its next attempt could start. */
function disposedDuringBuild(record: ArtifactRecord, param: string | number | undefined): SystemError {
  return disposedError(record.owner.name, `resolve("${labelOf(record.key, param)}")`);
}

/** One call of the factory; a thenable result that outlives `timeoutMs` rejects with `TIMEOUT`. */
function runAttempt(record: ArtifactRecord, ctx: FactoryContext): unknown {
  const out = record.factory(ctx);
  const timeoutMs = record.timeoutMs;
  if (timeoutMs === undefined || !isThenable(out)) return out;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new SystemError(
          "TIMEOUT",
          `factory of artifact "${labelOf(record.key, ctx.param)}" in container "${record.owner.name}" did not finish within ${timeoutMs} ms`,
          { details: { key: record.key, timeoutMs } },
        ),
      );
    }, timeoutMs);
    out.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
