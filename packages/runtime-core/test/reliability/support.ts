import { SystemError } from "@sluice/errors";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { expect } from "vitest";

/** `SLUICE_FULL=1` runs the full sizes; the default is the reduced CI size. */
export const FULL = process.env.SLUICE_FULL === "1";

/** `ci` by default, `full` under `SLUICE_FULL=1`. */
export function size(ci: number, full: number): number {
  return FULL ? full : ci;
}

/** Where a test records the figures `docs/reliability.md` quotes (printed, never asserted on). */
export function figure(name: string, value: string | number): void {
  console.log(`[figure] ${FULL ? "full" : "ci"} ${name}: ${value}`);
}

/** Yields to the event loop once (macrotask), letting timers and I/O callbacks run. */
export const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves with `promise`, or rejects naming `what` when it does not settle within `ms`: a hang. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `predicate` every few ms until it holds, or throws after `ms`. */
export async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 2));
  }
}

/** Heap used after a full GC (the suite runs with `--expose-gc`; see vitest.config.ts). */
export async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run these tests with node --expose-gc (vitest.config.ts sets it)");
  for (let i = 0; i < 4; i++) {
    await macrotask();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

export const MB = 1024 * 1024;

/** Active, ref'd `Timeout` handles as Node reports them. */
export function activeTimeouts(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
}

/**
 * Counts timers created through the global `setTimeout`/`setInterval` while installed that have
 * neither fired nor been cleared — including `unref()`ed ones, which `getActiveResourcesInfo`
 * does not list. Call `uninstall()` when done.
 */
export function trackTimers() {
  const realSetTimeout = globalThis.setTimeout;
  const realClearTimeout = globalThis.clearTimeout;
  const realSetInterval = globalThis.setInterval;
  const realClearInterval = globalThis.clearInterval;
  const live = new Set<unknown>();
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle = realSetTimeout(
      (...a: unknown[]) => {
        live.delete(handle);
        fn(...a);
      },
      ms,
      ...args,
    );
    live.add(handle);
    return handle;
  }) as typeof setTimeout;
  globalThis.clearTimeout = ((handle: unknown) => {
    live.delete(handle);
    realClearTimeout(handle as never);
  }) as typeof clearTimeout;
  globalThis.setInterval = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle = realSetInterval(fn, ms, ...args);
    live.add(handle);
    return handle;
  }) as typeof setInterval;
  globalThis.clearInterval = ((handle: unknown) => {
    live.delete(handle);
    realClearInterval(handle as never);
  }) as typeof clearInterval;
  return {
    get pending(): number {
      return live.size;
    },
    uninstall() {
      globalThis.setTimeout = realSetTimeout;
      globalThis.clearTimeout = realClearTimeout;
      globalThis.setInterval = realSetInterval;
      globalThis.clearInterval = realClearInterval;
    },
  };
}

/** A snapshot of `Object.prototype` (and the other built-in prototypes a patch could reach). */
export function prototypeSnapshot(): string {
  const describe = (proto: object) =>
    Reflect.ownKeys(proto)
      .map((k) => String(k))
      .sort()
      .join(",");
  return [Object.prototype, Array.prototype, Function.prototype].map(describe).join("|");
}

/** Asserts no prototype gained a property (also through the classic `polluted` probe keys). */
export function expectPrototypesClean(before: string): void {
  expect(prototypeSnapshot()).toBe(before);
  const probe = {} as Record<string, unknown>;
  for (const key of ["polluted", "isAdmin", "hacked"]) expect(probe[key]).toBeUndefined();
}

/** Asserts `error` is a `SystemError` carrying a non-empty string code (optionally one of `codes`). */
export function expectSystemError(error: unknown, codes?: readonly string[]): asserts error is SystemError {
  if (!(error instanceof SystemError)) {
    throw new Error(`expected a SystemError, got ${error instanceof Error ? error.stack : String(error)}`);
  }
  expect(typeof error.code).toBe("string");
  expect(error.code.length).toBeGreaterThan(0);
  if (codes !== undefined) expect(codes).toContain(error.code);
}

/**
 * Wraps a real timeline store so its `append` first runs `fault` (throw, hang, delay): the storage
 * faults the fault tests inject. Everything else is the real store's.
 */
export function withAppendFault(
  store: TimelineStore,
  fault: (events: readonly TimelineEvent[]) => void | Promise<void>,
): TimelineStore & { calls: number } {
  const wrapped = {
    calls: 0,
    async append(events: readonly TimelineEvent[]) {
      wrapped.calls++;
      await fault(events);
      return store.append(events);
    },
    query: store.query.bind(store),
    delete: store.delete.bind(store),
    close: store.close.bind(store),
  };
  return wrapped as TimelineStore & { calls: number };
}

/** Every event a store holds for `filter`, following the `next` cursor. */
export async function queryAll(
  store: TimelineStore,
  filter: { runId?: string; workflowId?: string } = {},
): Promise<TimelineEvent[]> {
  const all: TimelineEvent[] = [];
  let next: string | undefined;
  do {
    const page = await store.query({ ...filter, limit: 1000, ...(next !== undefined && { next }) } as never);
    all.push(...page.events);
    next = page.next;
  } while (next !== undefined);
  return all;
}
