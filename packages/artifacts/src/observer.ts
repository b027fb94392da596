import { catchRejection, SystemError } from "@sluice/errors";
import { report } from "./errors.js";
import type { ArtifactRecord, Slot, ValueWatcher } from "./records.js";
import type { ArtifactObserver } from "./types.js";

/**
 * Observes one artifact (one param value). It attaches itself to the record only while it has
 * listeners, so an observer nobody subscribes to costs nothing on the build path.
 */
export class ArtifactWatcher<T> implements ArtifactObserver<T>, ValueWatcher {
  private listeners: Set<(value: T | undefined) => void> | undefined = undefined;

  constructor(
    private record: ArtifactRecord,
    readonly param: string | number | undefined,
  ) {}

  get active(): boolean {
    return this.listeners !== undefined && this.listeners.size > 0;
  }

  get(): T | undefined {
    return this.record.peek(this.param) as T | undefined;
  }

  subscribe(listener: (value: T | undefined) => void): () => void {
    const listeners = (this.listeners ??= new Set());
    // Wrap so the same function subscribed twice gets two independent subscriptions.
    const entry = (value: T | undefined) => listener(value);
    listeners.add(entry);
    (this.record.watchers ??= new Set()).add(this);
    return () => {
      listeners.delete(entry);
      if (listeners.size === 0) this.detach();
    };
  }

  dispose(): void {
    this.listeners = undefined;
    this.detach();
  }

  /** Calls every listener with `value`; one that throws or rejects goes to `report`, saying which. */
  notify(value: unknown, report: (error: unknown, failed: "threw" | "rejected") => void): void {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    for (const listener of [...listeners]) {
      // One an earlier listener unsubscribed (or whose observer it disposed) hears nothing more.
      if (this.listeners?.has(listener) !== true) continue;
      try {
        const out: unknown = listener(value as T | undefined);
        // an async listener that fails rejects: reported as a throw, never an unhandled rejection
        if (out !== undefined) catchRejection(out, (error) => report(error, "rejected"));
      } catch (error) {
        report(error, "threw");
      }
    }
  }

  moveTo(record: ArtifactRecord): void {
    this.record = record;
  }

  private detach(): void {
    const watchers = this.record.watchers;
    if (watchers === undefined) return;
    watchers.delete(this);
    if (watchers.size === 0) this.record.watchers = undefined;
  }
}

/**
 * Tells the active watchers of `slot`'s value (a new value, or `undefined` when it was dropped) and,
 * if any was told, emits `stream:emit` from the owner. A listener that throws (or rejects) goes to
 * `onError`.
 */
export function notifyWatchers(slot: Slot, value: unknown): void {
  const watchers = slot.record.watchers;
  if (watchers === undefined) return;
  const owner = slot.record.owner;
  let emitted = false;
  for (const watcher of [...watchers]) {
    if (watcher.param !== slot.param || !watcher.active) continue;
    emitted = true;
    watcher.notify(value, (error, failed) =>
      report(
        owner._onError,
        SystemError.from(error, "INVALID_STATE", `watch("${slot.label}"): a listener ${failed}`),
      ),
    );
  }
  if (emitted)
    owner._events?.emit("stream:emit", {
      container: owner.name,
      key: slot.record.key,
      param: slot.param,
      value,
    });
}
