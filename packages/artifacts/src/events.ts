import { catchRejection, SystemError } from "@sluice/errors";
import { type ErrorSink, report } from "./errors.js";
import type { ContainerEventMap, ContainerEventName } from "./types.js";

const EVENT_NAMES: ReadonlySet<string> = new Set<ContainerEventName>([
  "build:start",
  "build:complete",
  "build:error",
  "artifact:invalidated",
  "artifact:disposed",
  "artifact:registered",
  "stream:emit",
  "container:dispose",
]);

type Handler = (payload: any) => void;

/** Throws `INVALID_INPUT` unless `on(event, handler)` names a known event and passes a function. */
export function assertSubscription(event: string, handler: unknown): void {
  if (!EVENT_NAMES.has(event)) {
    throw new SystemError(
      "INVALID_INPUT",
      `on: unknown event ${JSON.stringify(event)}; expected one of ${[...EVENT_NAMES].join(", ")}`,
    );
  }
  if (typeof handler !== "function")
    throw new SystemError("INVALID_INPUT", `on("${event}"): handler must be a function`);
}

/**
 * The lifecycle-event handlers of one container. A container creates it on its first `on()`, and
 * callers build a payload only when it exists, so a container nobody listens to pays nothing.
 */
export class EventHub {
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(private readonly onError: ErrorSink | undefined) {}

  /** Adds `handler` for `event`; returns the function that removes it again. */
  add<E extends ContainerEventName>(event: E, handler: (payload: ContainerEventMap[E]) => void): () => void {
    let set = this.handlers.get(event);
    if (set === undefined) this.handlers.set(event, (set = new Set()));
    // Wrapped so the same function added twice is two subscriptions, each removed on its own.
    const entry: Handler = (payload) => handler(payload);
    set.add(entry);
    return () => {
      const current = this.handlers.get(event);
      if (current === undefined) return;
      current.delete(entry);
      if (current.size === 0) this.handlers.delete(event);
    };
  }

  /** Whether anyone listens to `event`. */
  has(event: ContainerEventName): boolean {
    return this.handlers.has(event);
  }

  /** Calls every handler of `event`; one that throws (or rejects) is reported to `onError`, the others still run. */
  emit<E extends ContainerEventName>(event: E, payload: ContainerEventMap[E]): void {
    const handlers = this.handlers.get(event);
    if (handlers === undefined) return;
    for (const handler of [...handlers]) {
      try {
        const out: unknown = handler(payload);
        // an async handler that fails rejects: reported as a throw, never an unhandled rejection
        if (out !== undefined) {
          catchRejection(out, (error) =>
            report(
              this.onError,
              SystemError.from(error, "INVALID_STATE", `on("${event}"): a handler rejected`),
            ),
          );
        }
      } catch (error) {
        report(this.onError, SystemError.from(error, "INVALID_STATE", `on("${event}"): a handler threw`));
      }
    }
  }
}
