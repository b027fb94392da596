/**
 * Where this thread's bus ids come from: a random prefix, the same for every bus made in the thread
 * (or page), and a count. A bus tells a message from a bus of its own thread, which the channel
 * keeps in post order with its own, from one sent elsewhere by that prefix.
 *
 * The state lives on `globalThis` under a `Symbol.for` key, not in this module: when both builds of
 * the package load in one thread (one dependency `require`s it, another `import`s it) or two installs
 * of it do, each copy has its own module state, and a prefix kept there made the copies' buses take
 * each other for buses of another thread (and hold each other's events behind their own, out of
 * emit order). The count is shared too: two copies counting apart would give two buses one id.
 */
interface ThreadBusIds {
  /** Starts the id of every bus made in this thread; ends with `.`. */
  readonly prefix: string;
  /** How many buses have been made in this thread. */
  made: number;
}

/** The `globalThis` key; `@1` is the shape of {@link ThreadBusIds}: another shape takes another key. */
const KEY = Symbol.for("@sluice/events-broadcast/thread-bus-ids@1");

/** Found or made by the first bus (not at import: the package declares no side effects). */
let thread: ThreadBusIds | undefined;

function threadBusIds(): ThreadBusIds {
  const global = globalThis as { [KEY]?: unknown };
  const found = global[KEY];
  if (isThreadBusIds(found)) return found;
  const made: ThreadBusIds = {
    prefix: `${Math.random().toString(36).slice(2)}${Date.now().toString(36)}.`,
    made: 0,
  };
  // Not where the key holds something else, nor where globalThis is frozen (a hardened realm): this
  // copy then keeps its own, and other copies' buses count as elsewhere, as before the key.
  if (found === undefined) {
    try {
      Object.defineProperty(globalThis, KEY, { value: made });
    } catch {
      // frozen: this copy's own it is
    }
  }
  return made;
}

function isThreadBusIds(value: unknown): value is ThreadBusIds {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as ThreadBusIds).prefix === "string" &&
    typeof (value as ThreadBusIds).made === "number"
  );
}

/** A new bus's id, unique among the buses of every copy of the package in this thread. */
export function newBusId(): string {
  thread ??= threadBusIds();
  return `${thread.prefix}${(++thread.made).toString(36)}`;
}

/**
 * Whether `from`, a sending bus's id, is that of a bus made in this thread (by any copy). Asked by
 * a bus, so after {@link newBusId}.
 */
export function isOfThisThread(from: string): boolean {
  thread ??= threadBusIds();
  return from.startsWith(thread.prefix);
}
