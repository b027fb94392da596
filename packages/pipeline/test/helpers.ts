import { SystemError } from "@sluice/errors";
import type {
  DependencyScope,
  PipelineLifecycleEvent,
  PipelineObserver,
  StateAccess,
  UseDependencyContext,
} from "../src/index.js";

/** A real, minimal state store: shallow merge, own keys only. */
export class MemoryState<S extends object> implements StateAccess<S> {
  value: S;
  writes = 0;

  constructor(initial: S) {
    this.value = { ...initial };
  }

  get(): Readonly<S> {
    return this.value;
  }

  set(patch: Partial<S>): void {
    this.writes++;
    this.value = { ...this.value, ...patch };
  }
}

/** A real, minimal dependency scope: values by key, `select` against a state. */
export class MapDependencies<S extends object> implements DependencyScope<S> {
  constructor(
    private readonly values: Record<string, unknown>,
    private readonly state: StateAccess<S>,
  ) {}

  use<R>(fn: (deps: UseDependencyContext<S>) => R | Promise<R>): Promise<R> {
    const values = this.values;
    const state = this.state;
    const deps: UseDependencyContext<S> = {
      async resolve<T>(key: string) {
        return Object.hasOwn(values, key)
          ? { ok: true as const, value: values[key] as T }
          : { ok: false as const, error: new SystemError("NOT_FOUND", `no dependency "${key}"`) };
      },
      async require<T>(key: string) {
        if (!Object.hasOwn(values, key)) throw new SystemError("NOT_FOUND", `no dependency "${key}"`);
        return values[key] as T;
      },
      select: (selector) => selector(state.get() as S),
    };
    return Promise.resolve().then(() => fn(deps));
  }
}

/** Keeps every event it is given. */
export class RecordingObserver implements PipelineObserver {
  readonly events: PipelineLifecycleEvent[] = [];

  onEvent(event: PipelineLifecycleEvent): void {
    this.events.push(event);
  }

  /** `type` or `type:stage/step` lines, for compact order assertions. */
  trace(): string[] {
    return this.events.map((e) => {
      const where = e.step !== undefined ? `${e.stage}/${e.step}` : (e.stage ?? "");
      return where === "" ? e.type : `${e.type}:${where}`;
    });
  }
}

/** A promise with its resolve/reject exposed. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A promise that never settles: a step that ignores its signal. */
export const forever = (): Promise<never> => new Promise<never>(() => {});
