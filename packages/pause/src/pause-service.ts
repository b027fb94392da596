import { describeValue, quoteName, refuseUnknownKeys, SystemError } from "@sluice/errors";
import { type Condition, matchesConditions, readConditions } from "./conditions.js";
import { copyJsonObject } from "./json-value.js";

/** What a step passes to {@link PauseService.register}. */
export interface PauseRegistration<P = any> {
  /**
   * The bus event that resumes the run. Absent: only a direct `runtime.resume(runId, patch)` does.
   * Not `"*"`: that is the bus's wildcard, never emitted itself.
   */
  event?: string;
  /** Conditions the event payload must all meet (AND). */
  conditions?: Condition[];
  /**
   * Shapes the resuming payload into the state patch (default: the payload itself). A function is
   * kept in memory only: a checkpoint taken to another process does not carry it. A string names a
   * patch mapper the service knows by name ({@link PauseServiceOptions.knownPatches}; in the
   * runtime, one of the workflow's `patches`): the name goes into the checkpoint, so the run
   * resumes through that mapper in any process that registered the workflow.
   */
  patch?: ((payload: P) => object) | string;
  /** How long to wait before the wait times out, in milliseconds (> 0). */
  timeoutMs?: number;
  /**
   * The state patch the run resumes with when `timeoutMs` passes (default `{ pauseTimedOut: true }`),
   * so the next stage can branch on it. It is checkpointed, so it must be plain JSON all the way
   * down: plain objects and arrays of strings, finite numbers, booleans and `null` (no `Date`, `Map`,
   * class instance, `Infinity`, `NaN`, function, cycle, `undefined` in an array; at most 32 levels
   * deep). Keys whose value is `undefined` are left out, as JSON does. It is deep-copied at
   * registration, so later edits to the object do not change the wait, and the copy is frozen all
   * the way down, so nothing the wait is handed to can change it either. (Typed `object`, so that
   * a value typed with an interface, which has no index signature, fits.)
   */
  timeoutPatch?: object;
  /** A caller-chosen id (default: generated). Must be unique among this service's pending waits. */
  id?: string;
}

/**
 * The plain-JSON form of a registration that the pipeline checkpoints. {@link PauseService.register}
 * and `readPauseRequest` make it frozen all the way down (its `conditions` and `timeoutPatch`
 * too): a wait can be handed out as it is, and whoever holds it cannot change the run's wait.
 */
export interface PauseRequestData {
  /** The registration's id. */
  id: string;
  /** The event that resumes the run; absent for a direct resume. */
  event?: string;
  /** Conditions on the payload. */
  conditions?: Condition[];
  /** The timeout as registered. */
  timeoutMs?: number;
  /** Epoch ms when the wait times out (`now() + timeoutMs` at registration). */
  deadline?: number;
  /** The patch to resume with on timeout. */
  timeoutPatch?: Record<string, unknown>;
  /** The name of the patch mapper that shapes the resuming payload (a registration's string `patch`). */
  patch?: string;
}

/** The pipeline run's narrow hook for pauses (`PipelineRun` satisfies it). */
export interface PauseSink {
  /** Records a wait; the run pauses at the end of the current stage. */
  requestPause(request: PauseRequestData): void;
  /** Withdraws the waits for which `predicate` is true, if they have not taken effect yet. */
  withdrawPause(predicate: (request: PauseRequestData) => boolean): void;
}

/** Returned by {@link PauseService.register}. */
export interface PauseHandle {
  /** The registration's id. */
  readonly id: string;
  /**
   * Withdraws this registration (no-op when already withdrawn or released, even if a later
   * registration now has the same id).
   */
  cancel(): void;
}

/** Options for {@link PauseService}. */
export interface PauseServiceOptions {
  /** Clock for deadlines, epoch ms. Default `Date.now`. */
  now?: () => number;
  /**
   * Id generator for registrations without an `id`. Default: `wait-<random per-process prefix>-<counter>`,
   * unique among the waits of a process without a crypto call per wait.
   */
  createId?: () => string;
  /**
   * The names a registration's string `patch` may take (the resumer maps them to functions).
   * Default: none, and a string `patch` is refused.
   */
  knownPatches?: ReadonlySet<string>;
}

interface Entry {
  readonly request: PauseRequestData;
  readonly patch: ((payload: any) => object) | undefined;
}

// Wait ids only need to be unique among the pending waits of one service (in practice: of one
// process). A random per-process prefix and a counter give that without a crypto call per wait.
const idPrefix = Math.random().toString(36).slice(2, 10);
let idCounter = 0;

function defaultCreateId(): string {
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `wait-${idPrefix}-${idCounter.toString(36)}`;
}

// The bus's wildcard: "*" handlers receive (type, payload) for every event, and "*" itself cannot be
// emitted, so a wait on it would be resumed by any event (with the event name as payload) or never.
const BUS_WILDCARD = "*";

/** The fields of `PauseRegistration`, as `refuseUnknownKeys` lists them (keep in step with `hasUnknownField`). */
const REGISTRATION_KEYS: ReadonlySet<string> = new Set([
  "event",
  "conditions",
  "patch",
  "timeoutMs",
  "timeoutPatch",
  "id",
]);
const REGISTER = { caller: "pause.register" } as const;
const OPTIONS_KEYS: ReadonlySet<string> = new Set(["now", "createId", "knownPatches"]);
const NO_PATCHES: ReadonlySet<string> = new Set();

/**
 * Whether `registration` has an own key that is not a field (or cannot be enumerated): the check
 * every wait makes, so a switch in a loop of this call site's own (no allocation, no lookup in a
 * shared table); `refuseUnknownKeys` then words the error.
 */
function hasUnknownField(registration: object): boolean {
  try {
    for (const key in registration) {
      switch (key) {
        case "event":
        case "conditions":
        case "patch":
        case "timeoutMs":
        case "timeoutPatch":
        case "id":
          continue;
      }
      if (Object.hasOwn(registration, key)) return true;
    }
    return false;
  } catch {
    return true;
  }
}

function invalid(field: string, message: string): SystemError {
  return new SystemError("INVALID_INPUT", `pause.register: ${field} ${message}`, { details: { field } });
}

/**
 * Lets a step make its run wait for an event (or a direct resume) at the next stage boundary.
 * One service serves one pipeline run: it forwards plain request data to the run's {@link PauseSink}
 * (which checkpoints it) and keeps the non-serialisable `patch` mappers in memory.
 *
 * @example
 * ```ts
 * const pause = new PauseService(run);
 * const handle = pause.register({
 *   event: "order.approved",
 *   conditions: [{ path: "orderId", op: "==", value: "A1" }],
 *   timeoutMs: 60_000,
 * });
 * handle.cancel(); // changed our mind before the stage ended
 * ```
 */
export class PauseService {
  readonly #sink: PauseSink;
  readonly #now: () => number;
  readonly #createId: () => string;
  readonly #knownPatches: ReadonlySet<string>;
  readonly #entries = new Map<string, Entry>();

  /** @throws SystemError `INVALID_INPUT` for a sink without the hooks, or a bad or unknown option. */
  constructor(sink: PauseSink, options?: PauseServiceOptions) {
    if (
      typeof sink !== "object" ||
      sink === null ||
      typeof sink.requestPause !== "function" ||
      typeof sink.withdrawPause !== "function"
    ) {
      throw new SystemError(
        "INVALID_INPUT",
        "new PauseService: sink must have requestPause() and withdrawPause()",
      );
    }
    this.#sink = sink;
    this.#now = Date.now;
    this.#createId = defaultCreateId;
    this.#knownPatches = NO_PATCHES;
    if (options === undefined) return;
    if (typeof options !== "object" || options === null) {
      throw new SystemError(
        "INVALID_INPUT",
        "new PauseService: options must be an object { now?, createId?, knownPatches? }",
      );
    }
    refuseUnknownKeys(options, OPTIONS_KEYS, "options", { caller: "new PauseService" });
    const { now, createId, knownPatches } = options;
    if (now !== undefined && typeof now !== "function") {
      throw new SystemError(
        "INVALID_INPUT",
        "new PauseService: options.now must be a function returning epoch ms",
      );
    }
    if (createId !== undefined && typeof createId !== "function") {
      throw new SystemError(
        "INVALID_INPUT",
        "new PauseService: options.createId must be a function returning an id",
      );
    }
    if (knownPatches !== undefined) {
      if (!(knownPatches instanceof Set)) {
        throw new SystemError(
          "INVALID_INPUT",
          "new PauseService: options.knownPatches must be a Set of patch mapper names",
        );
      }
      for (const name of knownPatches) {
        // a name that readPauseRequest would refuse could not come back from a checkpoint
        if (typeof name !== "string" || name.length === 0) {
          throw new SystemError(
            "INVALID_INPUT",
            "new PauseService: options.knownPatches must hold non-empty strings (patch mapper names)",
          );
        }
      }
    }
    if (now !== undefined) this.#now = now;
    if (createId !== undefined) this.#createId = createId;
    if (knownPatches !== undefined) this.#knownPatches = knownPatches;
  }

  /**
   * Validates `registration`, sends its plain data to the sink (a {@link PauseRequestData} frozen
   * all the way down) and keeps its `patch` mapper.
   *
   * @throws SystemError `INVALID_INPUT` naming the bad field (`registration.event`,
   * `registration.conditions[0].value`, `registration.timeoutPatch.a`, …): a field a
   * {@link PauseRegistration} does not have (`pause.register: registration.condition is not an
   * option (options: event, conditions, patch, timeoutMs, timeoutPatch, id)`), an `event` of `"*"`, a
   * condition value JSON cannot carry (`Infinity`, `NaN`), a `timeoutPatch` that is not plain JSON;
   * `DUPLICATE_KEY` when `id` is already pending.
   * Whatever the sink throws (e.g. the run already ended) propagates, and nothing is kept.
   */
  register(registration: PauseRegistration): PauseHandle {
    if (typeof registration !== "object" || registration === null) {
      throw invalid(
        "registration",
        `must be an object { event?, conditions?, patch?, timeoutMs?, timeoutPatch?, id? } (got ${describeValue(registration)})`,
      );
    }
    // A misspelt field (`condition`, `timeout`) would otherwise be dropped, and the wait resumed by
    // any event of the name or never time out.
    if (hasUnknownField(registration)) {
      refuseUnknownKeys(registration, REGISTRATION_KEYS, "registration", REGISTER);
    }
    const { event, conditions, patch, timeoutMs, timeoutPatch, id } = registration;
    if (event !== undefined && (typeof event !== "string" || event.length === 0)) {
      throw invalid(
        "registration.event",
        `must be a non-empty string, or omitted to wait for a direct resume (got ${describeValue(event)})`,
      );
    }
    if (event === BUS_WILDCARD) {
      throw invalid(
        "registration.event",
        `"${BUS_WILDCARD}" is the event bus's wildcard and cannot be waited on (it is never emitted); name the event that should resume the run`,
      );
    }
    const conditionsCopy =
      conditions === undefined
        ? undefined
        : readConditions(conditions, "pause.register: registration.conditions", "INVALID_INPUT");
    let patchName: string | undefined;
    if (typeof patch === "string") {
      if (!this.#knownPatches.has(patch)) {
        const known = [...this.#knownPatches];
        throw invalid(
          "registration.patch",
          known.length === 0
            ? `names patch mapper ${quoteName(patch)}, but none is declared (declare it in the workflow's patches, or pass a function)`
            : `names patch mapper ${quoteName(patch)}, which is not declared (patches: ${known.join(", ")})`,
        );
      }
      patchName = patch;
    } else if (patch !== undefined && typeof patch !== "function") {
      throw invalid(
        "registration.patch",
        `must be a function (payload) => patch, or the name of a declared patch mapper (got ${describeValue(patch)})`,
      );
    }
    if (
      timeoutMs !== undefined &&
      !(typeof timeoutMs === "number" && Number.isFinite(timeoutMs) && timeoutMs > 0)
    ) {
      throw invalid(
        "registration.timeoutMs",
        `must be a finite number of milliseconds greater than 0 (got ${describeValue(timeoutMs)})`,
      );
    }
    let timeoutPatchCopy: Record<string, unknown> | undefined;
    if (timeoutPatch !== undefined) {
      if (timeoutMs === undefined) {
        throw invalid(
          "registration.timeoutPatch",
          "needs timeoutMs: a wait without a timeout never applies it; set timeoutMs, or remove timeoutPatch",
        );
      }
      // A deep copy, frozen: checkpoints keep it, so neither the caller's later edits nor JSON nor
      // a holder of the request (an onPause hook given the run's waits) may change it.
      timeoutPatchCopy = copyJsonObject(timeoutPatch, "registration.timeoutPatch", invalid);
    }
    if (id !== undefined && (typeof id !== "string" || id.length === 0)) {
      throw invalid(
        "registration.id",
        `must be a non-empty string, or omitted to generate one (got ${describeValue(id)})`,
      );
    }
    const requestId = id ?? this.#createId();
    if (this.#entries.has(requestId)) {
      throw new SystemError(
        "DUPLICATE_KEY",
        `pause.register: a registration with id ${quoteName(requestId)} is already pending; cancel it or use another id`,
        { details: { id: requestId } },
      );
    }
    const request: PauseRequestData = { id: requestId };
    if (event !== undefined) request.event = event;
    if (conditionsCopy !== undefined && conditionsCopy.length > 0) request.conditions = conditionsCopy;
    if (timeoutMs !== undefined) {
      request.timeoutMs = timeoutMs;
      request.deadline = this.#now() + timeoutMs;
    }
    if (timeoutPatchCopy !== undefined) request.timeoutPatch = timeoutPatchCopy;
    if (patchName !== undefined) request.patch = patchName;
    Object.freeze(request);
    this.#sink.requestPause(request);
    const entry: Entry = { request, patch: typeof patch === "function" ? patch : undefined };
    this.#entries.set(requestId, entry);
    // Only while this very registration is held: once it has been cancelled or released, its id
    // may belong to a later registration (the next stage's, say), which this handle must not touch.
    const cancel = (): void => {
      if (this.#entries.get(requestId) === entry) this.cancel(requestId);
    };
    return Object.freeze({ id: requestId, cancel });
  }

  /**
   * Withdraws the registration `id` (or, without an id, every registration of this service) from
   * the sink and forgets it. Unknown ids are ignored.
   */
  cancel(id?: string): void {
    // Withdrawn by identity, not by id: a sink may still hold a request of an earlier registration
    // with the same id (the runtime keeps the last pause's waits to hold events between resumes).
    if (id === undefined) {
      if (this.#entries.size === 0) return;
      const requests = new Set<PauseRequestData>();
      for (const entry of this.#entries.values()) requests.add(entry.request);
      this.#entries.clear();
      this.#sink.withdrawPause((request) => requests.has(request));
      return;
    }
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    const withdrawn = entry.request;
    this.#sink.withdrawPause((request) => request === withdrawn);
  }

  /**
   * Forgets the registration `id` (or all) **without** telling the sink: for the runtime once a
   * pause has been resolved (resumed or timed out). Read {@link patchMapper} before releasing.
   */
  release(id?: string): void {
    if (id === undefined) this.#entries.clear();
    else this.#entries.delete(id);
  }

  /** The request data of every registration still held, in registration order. */
  pending(): readonly PauseRequestData[] {
    return Array.from(this.#entries.values(), (entry) => entry.request);
  }

  /**
   * The request data of registration `id` while this service holds it: the very object the sink
   * got and `pending()` lists (so it can be told apart from an earlier registration's with the same
   * id, which a sink may still hold), or `undefined` once it was cancelled or released.
   */
  request(id: string): PauseRequestData | undefined {
    return this.#entries.get(id)?.request;
  }

  /**
   * The `patch` function given with registration `id`, if any (functions live in memory only; a
   * named patch is in the request data, as `patch`).
   */
  patchMapper(id: string): ((payload: any) => object) | undefined {
    return this.#entries.get(id)?.patch;
  }
}

/**
 * True when an event resumes the wait described by `request`: the event name equals
 * `request.event` (a request without `event` matches only `eventType === undefined`, i.e. a direct
 * resume), and `payload` meets every condition. Never throws.
 */
export function matchPauseRequest(
  request: PauseRequestData,
  eventType: string | undefined,
  payload: unknown,
): boolean {
  try {
    if (typeof request !== "object" || request === null) return false;
    if (request.event !== eventType) return false;
    return matchesConditions(payload, request.conditions);
  } catch {
    return false;
  }
}
