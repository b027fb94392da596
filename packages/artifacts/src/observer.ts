import type { ArtifactRecord, ValueWatcher } from "./records.js";
import type { ArtifactObserver } from "./types.js";

/** What an observer needs from the container that owns the watched record. */
export interface ObserverHost {
  /** @internal */
  _peekRecord(record: ArtifactRecord, param: string | number | undefined): unknown;
}

/**
 * Observes one artifact (one param value). It attaches itself to the record only while it has
 * listeners, so an observer nobody subscribes to costs nothing on the build path.
 */
export class ArtifactWatcher<T> implements ArtifactObserver<T>, ValueWatcher {
  private listeners: Set<(value: T | undefined) => void> | undefined = undefined;

  constructor(
    private record: ArtifactRecord,
    private readonly host: ObserverHost,
    readonly param: string | number | undefined,
  ) {}

  get active(): boolean {
    return this.listeners !== undefined && this.listeners.size > 0;
  }

  get(): T | undefined {
    return this.host._peekRecord(this.record, this.param) as T | undefined;
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

  notify(value: unknown, report: (error: unknown) => void): void {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    for (const listener of [...listeners]) {
      try {
        listener(value as T | undefined);
      } catch (error) {
        report(error);
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
