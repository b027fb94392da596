import { SystemError } from "@sluice/errors";
import { releaseLate } from "./cleanups.js";
import { circular, findInChain, findWait } from "./cycles.js";
import { forgetReads, link } from "./dependencies.js";
import { disposedError, failure } from "./errors.js";
import type { FactoryContext } from "./factory-context.js";
import { runFactory } from "./factory-run.js";
import { notFound } from "./fallback.js";
import { notifyWatchers } from "./observer.js";
import {
  type ArtifactRecord,
  ChainNode,
  type Cleanup,
  labelOf,
  RetainedInstance,
  type Slot,
} from "./records.js";
import type { ArtifactStatus, ResolveResult } from "./types.js";

// Resolution moves a slot from "registered" (or "invalidated", or "failed") through "building" to
// "ready" or "failed". Invalidation and disposal, which take values away, live in their own modules.

/** A build restarted this often because it kept being invalidated mid-build gives up. */
const MAX_STALE_RESTARTS = 16;

/**
 * Resolves `record` for `param` in the container that owns it, on behalf of the factory `ctx` if
 * given (then the read is recorded as a dependency and checked for cycles first).
 */
export function resolveRecord(
  record: ArtifactRecord,
  param: string | number | undefined,
  ctx: FactoryContext | undefined,
): Promise<ResolveResult<unknown>> {
  const owner = record.owner;
  if (owner._disposed) return failure(disposedError(owner.name, `resolve("${record.key}")`));
  if (!record.fits(param)) return failure(paramMismatch(record));
  if (ctx !== undefined) {
    const cycle = findInChain(ctx.node, record, param);
    if (cycle !== undefined) return failure(circular(cycle));
  }
  if (record.scope === "transient") {
    if (ctx !== undefined) track(ctx, record.slot);
    return buildTransient(record, param, ctx);
  }
  const slot = record.slotFor(param);
  if (slot.settled !== undefined) {
    if (ctx !== undefined) track(ctx, slot);
    return slot.settled;
  }
  let pending = slot.pending;
  if (ctx === undefined) return pending ?? (slot.pending = buildSingleton(slot, undefined));
  const waiter = ctx.node.waiter;
  if (pending !== undefined && waiter !== undefined) {
    // Joining someone else's build: make sure that build is not (transitively) waiting for us.
    const path = findWait(slot, waiter);
    if (path !== undefined) return failure(circular([waiter.label, ...path.map((s) => s.label)]));
  }
  if (pending === undefined) pending = slot.pending = buildSingleton(slot, ctx.node);
  track(ctx, slot);
  if (waiter === undefined) return pending;
  (waiter.waitingOn ??= new Set()).add(slot);
  return pending.then((result) => {
    waiter.waitingOn?.delete(slot);
    return result;
  });
}

/** Records that the build of `ctx` read `slot`; a transient's build also notes it for its instance. */
function track(ctx: FactoryContext, slot: Slot): void {
  link(ctx.slot, slot);
  if (ctx.record.scope === "transient") (ctx.reads ??= []).push(slot);
}

/** Stores a value as the slot's instance (a build's result, or one restored from a bundle) and tells watchers. */
export function settle(slot: Slot, value: unknown, cleanups: Cleanup[] | undefined, built: boolean): void {
  slot.status = "ready";
  slot.value = value;
  slot.cleanups = cleanups;
  slot.lastError = undefined;
  slot.waitingOn = undefined;
  slot.readySeq = ++slot.record.owner._readySeq;
  if (built) slot.buildCount++;
  slot.settled = Promise.resolve(Object.freeze({ ok: true as const, value }));
  if (slot.record.watchers !== undefined) notifyWatchers(slot, value);
}

/**
 * The one build of a singleton slot that concurrent resolvers share. A build invalidated while it
 * ran is stale: its value is released and the factory runs again, at most `MAX_STALE_RESTARTS` times.
 */
async function buildSingleton(slot: Slot, parent: ChainNode | undefined): Promise<ResolveResult<unknown>> {
  const record = slot.record;
  const owner = record.owner;
  for (let restart = 0; ; restart++) {
    slot.status = "building";
    forgetReads(slot);
    const generation = slot.generation;
    const node = new ChainNode(record, slot.param, parent, slot);
    const outcome = await runFactory(record, slot, node, slot.param);
    const stale =
      slot.generation !== generation || (slot.status as ArtifactStatus) === "disposed" || owner._disposed;
    if (!stale) {
      slot.pending = undefined;
      if (outcome.ok) {
        settle(slot, outcome.value, outcome.ctx.cleanups, true);
        outcome.ctx.keptAs = slot.readySeq;
        return slot.settled!;
      }
      markFailed(slot, outcome.error);
      return { ok: false, error: outcome.error };
    }
    if (outcome.ok) {
      outcome.ctx.abandon(); // a cleanup it registers from now on runs at once
      if (outcome.ctx.cleanups !== undefined) releaseLate(record, slot.param, outcome.ctx.cleanups);
    }
    if (owner._disposed || record.replaced) {
      slot.pending = undefined;
      if (owner._disposed) {
        return { ok: false, error: disposedError(owner.name, `resolve("${slot.label}")`) };
      }
      // Replaced by an override while building: resolve what the key means now.
      const current = owner._records?.get(record.key);
      if (current === undefined) return { ok: false, error: notFound(owner, record.key, "resolve") };
      return resolveRecord(current, slot.param, undefined);
    }
    if (restart >= MAX_STALE_RESTARTS) {
      slot.pending = undefined;
      const error = new SystemError(
        "INVALID_STATE",
        `artifact "${slot.label}" was invalidated ${restart + 1} times while building; make sure its factory does not change the state it selects`,
        { details: { key: record.key } },
      );
      markFailed(slot, error);
      return { ok: false, error };
    }
  }
}

/**
 * A fresh instance on every call, never cached. Its build facts go on the record slot, and it is
 * kept only when it registered a cleanup, so that the cleanup can run at disposal.
 */
async function buildTransient(
  record: ArtifactRecord,
  param: string | number | undefined,
  ctx: FactoryContext | undefined,
): Promise<ResolveResult<unknown>> {
  const slot = record.slot;
  // Transient selections are those of the latest build only, so they cannot pile up.
  if (slot.selections !== undefined) slot.selections = undefined;
  const node = new ChainNode(record, param, ctx?.node, ctx?.node.waiter);
  const outcome = await runFactory(record, slot, node, param);
  if (!outcome.ok) {
    markFailed(slot, outcome.error);
    return { ok: false, error: outcome.error };
  }
  const built = outcome.ctx;
  const cleanups = built.cleanups;
  if (record.owner._disposed) {
    // Finished after dispose(): like a singleton's, the instance is released and its caller told.
    built.abandon();
    if (cleanups !== undefined) releaseLate(record, param, cleanups);
    return { ok: false, error: disposedError(record.owner.name, `resolve("${labelOf(record.key, param)}")`) };
  }
  slot.status = "ready";
  slot.buildCount++;
  built.keptTransient = true;
  if (cleanups !== undefined) {
    built.retained = new RetainedInstance(record, param, cleanups, built.reads);
    (record.retained ??= new Set()).add(built.retained);
  }
  return { ok: true, value: outcome.value };
}

/** A build that gave up (for any reason) waits on nothing any more. */
function markFailed(slot: Slot, error: SystemError): void {
  slot.status = "failed";
  slot.lastError = error;
  slot.waitingOn = undefined;
}

function paramMismatch(record: ArtifactRecord): SystemError {
  return new SystemError(
    "INVALID_INPUT",
    record.parameterised
      ? `resolve("${record.key}"): the artifact is parameterised; pass a param`
      : `resolve("${record.key}"): the artifact is not parameterised; call it without a param (template "param: true" enables it)`,
    { details: { key: record.key } },
  );
}
