import { describeKind, describeValue, refuseUnknownKeys, SystemError } from "@sluice/errors";
import { checkPath, validateConditions } from "@sluice/pause";
import { MAX_TIMER_MS } from "@sluice/pipeline";
import { isPlainObject } from "@sluice/store";
import { isControlEvent } from "./control-events.js";
import type { ExecutionMode, RegisterOptions, ServiceDefinition, Workflow } from "./types.js";

/** Service ids the runtime provides itself. */
export const RESERVED_SERVICE_IDS: readonly string[] = ["__pause_service__", "__env__"];

const HOOKS = ["onPrepare", "onComplete", "onPause", "onResume", "onCleanup", "onDispatch"] as const;
const SCOPES = new Set(["workflow", "run", "transient"]);

/** The fields of a workflow, a trigger and a service definition (`Workflow`, `TriggerDefinition`, ...). */
const WORKFLOW_KEYS = ["id", "label", "env", "services", "triggers", "pipelines", "patches"];
const TRIGGER_KEYS = [
  "event",
  "pipeline",
  "when",
  "map",
  "key",
  "rateLimit",
  "debounce",
  "throttle",
  "cancelOn",
  "batch",
];
const BATCH_KEYS = ["maxSize", "timeoutMs", "key"];
const CANCEL_ON_KEYS = ["event", "match", "when"];
const DEBOUNCE_KEYS = ["periodMs", "maxWaitMs", "key"];
const RATE_LIMIT_KEYS = ["limit", "periodMs", "key"];
const THROTTLE_KEYS = ["limit", "periodMs", "key", "capacity"];
const SERVICE_KEYS = ["id", "factory", "scope", "timeoutMs", "retries", "lazy"];
/** A global service has no `scope` (refused with its own message first). */
const GLOBAL_SERVICE_KEYS = SERVICE_KEYS.filter((key) => key !== "scope");

const DEFINITION = { code: "INVALID_DEFINITION" } as const;

function invalid(path: string, problem: string): SystemError {
  return new SystemError("INVALID_DEFINITION", `${path}: ${problem}`, { details: { path } });
}

function positiveInt(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value > 0;
}

/** A positive, finite number of milliseconds, at most `max`. */
function positiveMs(value: unknown, max: number): value is number {
  return typeof value === "number" && Number.isFinite(value) && value > 0 && value <= max;
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0;
}

/** Checks a list of services (global or a workflow's); `path` prefixes messages. */
export function validateServices(services: unknown, path: string, allowScope: boolean): void {
  if (services === undefined) return;
  if (!Array.isArray(services)) throw invalid(path, "must be an array of service definitions");
  const seen = new Set<string>();
  // An indexed loop, not forEach: forEach skips the holes of a sparse array (`[, svc]`), which the
  // registration's for...of then reads as `undefined`.
  for (let i = 0; i < services.length; i++) {
    const service: unknown = services[i];
    const at = `${path}[${i}]`;
    if (!isPlainObject(service)) throw invalid(at, "must be an object with id and factory");
    if (!allowScope && Object.hasOwn(service, "scope")) {
      throw invalid(`${at}.scope`, "global services are always singletons; remove scope");
    }
    onlyKnownKeys(service, allowScope ? SERVICE_KEYS : GLOBAL_SERVICE_KEYS, at);
    const { id, factory, scope, timeoutMs, retries, lazy } = service as Partial<ServiceDefinition> & {
      scope?: unknown;
    };
    if (!isNonEmptyString(id)) throw invalid(`${at}.id`, "must be a non-empty string");
    if (RESERVED_SERVICE_IDS.includes(id)) {
      throw new SystemError(
        "DUPLICATE_KEY",
        `${at}.id: "${id}" is reserved by the runtime (reserved ids: ${RESERVED_SERVICE_IDS.join(", ")}); pick another id`,
        { details: { path: `${at}.id`, key: id } },
      );
    }
    if (seen.has(id)) {
      throw new SystemError("DUPLICATE_KEY", `${at}.id: service "${id}" is defined twice in ${path}`, {
        details: { path: `${at}.id`, key: id },
      });
    }
    seen.add(id);
    if (typeof factory !== "function") throw invalid(`${at}.factory`, "must be a function");
    if (scope !== undefined && (typeof scope !== "string" || !SCOPES.has(scope))) {
      throw invalid(`${at}.scope`, `must be "workflow", "run" or "transient", got ${describeValue(scope)}`);
    }
    // Checked here, whatever the scope: run and transient services reach a container only when a
    // run first uses them, and a bad field must fail register(), not every run.
    if (
      timeoutMs !== undefined &&
      !(typeof timeoutMs === "number" && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)
    ) {
      throw invalid(
        `${at}.timeoutMs`,
        `must be a number of milliseconds above 0 and at most ${MAX_TIMER_MS} (about 24.8 days, the longest timer setTimeout supports), got ${describeValue(timeoutMs)}`,
      );
    }
    if (retries !== undefined && !(Number.isInteger(retries) && (retries as number) >= 0)) {
      throw invalid(`${at}.retries`, "must be a non-negative integer");
    }
    if (lazy !== undefined && typeof lazy !== "boolean") {
      throw invalid(
        `${at}.lazy`,
        `must be a boolean (false: build at construction or register() instead of on first use), got ${describeValue(lazy)}`,
      );
    }
  }
}

/** Checks an env layer: a plain object of string (or undefined) values. */
export function validateEnvLayer(env: unknown, path: string): void {
  if (env === undefined) return;
  try {
    checkEnvLayer(env, path);
  } catch (error) {
    // hostile layers (throwing getters, proxies) surface as a definition error, never a raw throw
    throw SystemError.from(error, "INVALID_DEFINITION", `${path}: the env layer could not be read`);
  }
}

function checkEnvLayer(env: unknown, path: string): void {
  if (!isPlainObject(env)) throw invalid(path, "must be an object of string values");
  for (const key of Object.keys(env)) {
    const value = env[key];
    if (value !== undefined && typeof value !== "string") {
      throw invalid(`${path}.${key}`, `must be a string, got ${typeof value}`);
    }
  }
}

/** The option names each mode takes (a misspelt or misplaced one is refused, not ignored). */
const MODE_KEYS: Record<string, readonly string[]> = {
  transient: ["type", "concurrency", "capacity", "key", "keyConcurrency", "priority"],
  serialized: ["type", "capacity", "key", "priority"],
  singleton_loop: ["type", "onBusy"],
  exclusive: ["type", "onBusy"],
};
const REGISTER_KEYS = [
  "mode",
  ...HOOKS,
  "pauseWindowMs",
  "hookTimeoutMs",
  "runTimeoutMs",
  "retention",
  "keepResults",
];
const RETENTION_KEYS = ["maxFinished", "maxAgeMs"];

/**
 * Refuses keys of `object` that are not in `known`: a typo such as `onComplet` would otherwise
 * be ignored silently, and the hook never called. @internal
 */
export function onlyKnownKeys(object: object, known: readonly string[], path: string): void {
  refuseUnknownKeys(object, known, path, DEFINITION);
}

function validateMode(mode: unknown): asserts mode is ExecutionMode {
  const path = "options.mode";
  if (!isPlainObject(mode))
    throw invalid(path, 'must be an object such as { type: "transient", concurrency: 10 }');
  const type = mode.type;
  if (typeof type === "string" && Object.hasOwn(MODE_KEYS, type)) onlyKnownKeys(mode, MODE_KEYS[type]!, path);
  const capacity = (v: unknown) =>
    v === undefined || v === Infinity || (Number.isInteger(v) && (v as number) >= 0);
  switch (mode.type) {
    case "transient":
      if (!positiveInt(mode.concurrency)) {
        throw invalid(
          `${path}.concurrency`,
          `must be a positive integer, got ${describeKind(mode.concurrency)}`,
        );
      }
      if (!capacity(mode.capacity))
        throw invalid(
          `${path}.capacity`,
          `must be a non-negative integer or Infinity, got ${describeKind(mode.capacity)}`,
        );
      checkConcurrencyKey(mode.key, path);
      checkPriority(mode.priority, path);
      if (mode.keyConcurrency !== undefined) {
        if (mode.key === undefined)
          throw invalid(
            `${path}.keyConcurrency`,
            "limits the runs of one concurrency key: give the mode a key too, such as key: (input) => input.customerId",
          );
        if (!positiveInt(mode.keyConcurrency))
          throw invalid(
            `${path}.keyConcurrency`,
            `must be a positive integer, got ${describeKind(mode.keyConcurrency)}`,
          );
      }
      return;
    case "serialized":
      if (!capacity(mode.capacity))
        throw invalid(
          `${path}.capacity`,
          `must be a non-negative integer or Infinity, got ${describeKind(mode.capacity)}`,
        );
      checkConcurrencyKey(mode.key, path);
      checkPriority(mode.priority, path);
      return;
    case "singleton_loop":
      if (mode.onBusy !== "drop" && mode.onBusy !== "signal" && mode.onBusy !== "replace") {
        throw invalid(
          `${path}.onBusy`,
          `must be "drop", "signal" or "replace", got ${describeValue(mode.onBusy)}`,
        );
      }
      return;
    case "exclusive":
      if (mode.onBusy !== "reject" && mode.onBusy !== "queue_single") {
        throw invalid(
          `${path}.onBusy`,
          `must be "reject" or "queue_single", got ${describeValue(mode.onBusy)}`,
        );
      }
      return;
    default:
      throw invalid(
        `${path}.type`,
        `must be "transient", "serialized", "singleton_loop" or "exclusive", got ${describeValue(mode.type)}`,
      );
  }
}

/**
 * Checks a trigger's `rateLimit`, or (with `keys` and `maxPeriodMs`, its waiting events being
 * sent on by a timer) its `throttle`, but for the throttle's `capacity`.
 */
function validateRateLimit(
  rateLimit: unknown,
  path: string,
  keys: readonly string[] = RATE_LIMIT_KEYS,
  maxPeriodMs = Number.POSITIVE_INFINITY,
): void {
  if (!isPlainObject(rateLimit))
    throw invalid(
      path,
      `must be an object such as { limit: 10, periodMs: 60_000 }, got ${describeKind(rateLimit)}`,
    );
  onlyKnownKeys(rateLimit, keys, path);
  const { limit, periodMs, key } = rateLimit;
  if (!positiveInt(limit))
    throw invalid(
      `${path}.limit`,
      `must be a positive integer (events per period), got ${describeKind(limit)}`,
    );
  if (!positiveMs(periodMs, maxPeriodMs))
    throw invalid(
      `${path}.periodMs`,
      `must be a positive finite number of milliseconds${maxPeriodMs === Number.POSITIVE_INFINITY ? "" : `, at most ${maxPeriodMs}`}, got ${describeKind(periodMs)}`,
    );
  if (key !== undefined && typeof key !== "function")
    throw invalid(
      `${path}.key`,
      `must be a function of the payload returning the key to limit by, such as (p) => p.userId; got ${describeKind(key)}`,
    );
}

function validateThrottle(throttle: unknown, path: string): void {
  validateRateLimit(throttle, path, THROTTLE_KEYS, MAX_TIMER_MS);
  const { capacity } = throttle as { capacity?: unknown };
  if (capacity !== undefined && !positiveInt(capacity))
    throw invalid(
      `${path}.capacity`,
      `must be a positive integer (most events waiting, all keys together), got ${describeKind(capacity)}`,
    );
}

function validateDebounce(debounce: unknown, path: string): void {
  if (!isPlainObject(debounce))
    throw invalid(path, `must be an object such as { periodMs: 5000 }, got ${describeKind(debounce)}`);
  onlyKnownKeys(debounce, DEBOUNCE_KEYS, path);
  const { periodMs, maxWaitMs, key } = debounce;
  if (!positiveMs(periodMs, MAX_TIMER_MS))
    throw invalid(
      `${path}.periodMs`,
      `must be a positive number of milliseconds, at most ${MAX_TIMER_MS}, got ${describeKind(periodMs)}`,
    );
  if (maxWaitMs !== undefined && !(positiveMs(maxWaitMs, MAX_TIMER_MS) && maxWaitMs >= periodMs))
    throw invalid(
      `${path}.maxWaitMs`,
      `must be a number of milliseconds from periodMs (${periodMs}) to ${MAX_TIMER_MS}, got ${describeKind(maxWaitMs)}`,
    );
  if (key !== undefined && typeof key !== "function")
    throw invalid(
      `${path}.key`,
      `must be a function of the payload returning the key of the event's series, such as (p) => p.documentId; got ${describeKind(key)}`,
    );
}

function validateBatch(batch: unknown, path: string): void {
  if (!isPlainObject(batch))
    throw invalid(
      path,
      `must be an object such as { maxSize: 100, timeoutMs: 5000 }, got ${describeKind(batch)}`,
    );
  onlyKnownKeys(batch, BATCH_KEYS, path);
  const { maxSize, timeoutMs, key } = batch;
  if (!positiveInt(maxSize))
    throw invalid(
      `${path}.maxSize`,
      `must be a positive integer (most events in one batch), got ${describeKind(maxSize)}`,
    );
  if (!positiveMs(timeoutMs, MAX_TIMER_MS))
    throw invalid(
      `${path}.timeoutMs`,
      `must be a positive number of milliseconds, at most ${MAX_TIMER_MS} (how long a batch collects from its first event), got ${describeKind(timeoutMs)}`,
    );
  if (key !== undefined && typeof key !== "function")
    throw invalid(
      `${path}.key`,
      `must be a function of an event's payload returning the key of the batch it joins, such as (p) => p.customerId; got ${describeKind(key)}`,
    );
}

function validateCancelOn(cancelOn: unknown, path: string): void {
  if (!Array.isArray(cancelOn))
    throw invalid(
      path,
      `must be an array such as [{ event: "order.cancelled", match: "orderId" }], got ${describeKind(cancelOn)}`,
    );
  for (let i = 0; i < cancelOn.length; i++) {
    const rule: unknown = cancelOn[i];
    const at = `${path}[${i}]`;
    if (!isPlainObject(rule))
      throw invalid(
        at,
        `must be an object such as { event: "order.cancelled", match: "orderId" }, got ${describeKind(rule)}`,
      );
    onlyKnownKeys(rule, CANCEL_ON_KEYS, at);
    const { event, match, when } = rule;
    if (!isNonEmptyString(event)) throw invalid(`${at}.event`, "must be a non-empty bus event name");
    if (isControlEvent(event))
      throw invalid(
        `${at}.event`,
        `"${event}" is a runtime control event; to abort runs by id, emit it without cancelOn`,
      );
    if (event === "*")
      throw invalid(
        `${at}.event`,
        `"*" is the bus's wildcard (its handlers get the event name, not a payload); name the event that cancels`,
      );
    if (match !== undefined) checkPath(match, `${at}.match`, "INVALID_DEFINITION");
    if (when !== undefined) validateConditions(when, `${at}.when`);
  }
}

function checkConcurrencyKey(key: unknown, path: string): void {
  if (key !== undefined && typeof key !== "function")
    throw invalid(
      `${path}.key`,
      `must be a function of the run's input returning its concurrency key, such as (input) => input.customerId; got ${describeKind(key)}`,
    );
}

function checkPriority(priority: unknown, path: string): void {
  if (priority !== undefined && typeof priority !== "function")
    throw invalid(
      `${path}.priority`,
      `must be a function of the run's input returning its priority (higher starts first), such as (input) => (input.plan === "pro" ? 1 : 0); got ${describeKind(priority)}`,
    );
}

/** Checks `register()` options. */
export function validateRegisterOptions(options: unknown): asserts options is RegisterOptions<any> {
  if (options === undefined) return;
  if (!isPlainObject(options)) {
    throw invalid(
      "options",
      `must be an object such as { mode: { type: "serialized" } }, got ${describeKind(options)}`,
    );
  }
  onlyKnownKeys(options, REGISTER_KEYS, "options");
  if (options.mode !== undefined) validateMode(options.mode);
  for (const hook of HOOKS) {
    if (options[hook] !== undefined && typeof options[hook] !== "function") {
      throw invalid(`options.${hook}`, `must be a function (got ${describeKind(options[hook])})`);
    }
  }
  const window = options.pauseWindowMs;
  if (window !== undefined && !(typeof window === "number" && window >= 0 && !Number.isNaN(window))) {
    throw invalid(
      "options.pauseWindowMs",
      `must be a non-negative number of milliseconds (or Infinity), got ${describeKind(window)}`,
    );
  }
  const hookTimeout = options.hookTimeoutMs;
  if (hookTimeout !== undefined && !(typeof hookTimeout === "number" && hookTimeout > 0)) {
    throw invalid(
      "options.hookTimeoutMs",
      `must be a positive number of milliseconds (or Infinity for no limit), got ${describeKind(hookTimeout)}`,
    );
  }
  const runTimeout = options.runTimeoutMs;
  // finite: a run without a deadline leaves the option out (a deadline must fit its checkpoint's JSON)
  if (
    runTimeout !== undefined &&
    !(typeof runTimeout === "number" && runTimeout > 0 && runTimeout < Infinity)
  ) {
    throw invalid(
      "options.runTimeoutMs",
      `must be a positive, finite number of milliseconds (how long a run may take from its creation to its end; leave it out for no deadline), got ${describeValue(runTimeout)}`,
    );
  }
  const retention = options.retention;
  if (retention !== undefined) {
    if (!isPlainObject(retention)) {
      throw invalid(
        "options.retention",
        `must be an object such as { maxFinished: 1000 }, got ${describeKind(retention)}`,
      );
    }
    onlyKnownKeys(retention, RETENTION_KEYS, "options.retention");
    const { maxFinished, maxAgeMs } = retention as { maxFinished?: unknown; maxAgeMs?: unknown };
    if (maxFinished !== undefined && !(Number.isSafeInteger(maxFinished) && (maxFinished as number) >= 0)) {
      throw invalid(
        "options.retention.maxFinished",
        `must be an integer ≥ 0 (finished runs kept), got ${describeKind(maxFinished)}`,
      );
    }
    if (maxAgeMs !== undefined && !(typeof maxAgeMs === "number" && maxAgeMs >= 0)) {
      throw invalid(
        "options.retention.maxAgeMs",
        `must be a number of milliseconds ≥ 0, got ${describeKind(maxAgeMs)}`,
      );
    }
  }
  const keepResults = options.keepResults;
  // a count, never Infinity: the kept results are bounded
  if (keepResults !== undefined && !(Number.isSafeInteger(keepResults) && (keepResults as number) >= 0)) {
    throw invalid(
      "options.keepResults",
      `must be an integer ≥ 0 (how many ended runs' results result() keeps; 0 keeps none), got ${describeValue(keepResults)}`,
    );
  }
}

/**
 * Checks everything about a workflow that can be checked before a run: ids, triggers and the
 * pipelines they name, trigger conditions, services, env, and that the workflow, its triggers and
 * its services have no field they do not take (a typo is refused, not ignored). Pipelines
 * themselves are checked by constructing them (see the runtime), so their messages carry
 * `pipelines.<id>...` paths.
 */
export function validateWorkflowShape(workflow: unknown): asserts workflow is Workflow<any> {
  if (!isPlainObject(workflow))
    throw invalid("workflow", "must be an object with id, triggers and pipelines");
  onlyKnownKeys(workflow, WORKFLOW_KEYS, "workflow");
  if (!isNonEmptyString(workflow.id)) {
    throw invalid("workflow.id", `must be a non-empty string, got ${describeKind(workflow.id)}`);
  }
  if (workflow.label !== undefined && typeof workflow.label !== "string") {
    throw invalid("workflow.label", `must be a string, got ${describeKind(workflow.label)}`);
  }
  const patches = workflow.patches;
  if (patches !== undefined) {
    if (!isPlainObject(patches)) throw invalid("patches", "must be an object of patch mappers by name");
    for (const [name, mapper] of Object.entries(patches)) {
      if (name.length === 0) throw invalid("patches", 'a patch mapper needs a name ("" is not one)');
      if (typeof mapper !== "function")
        throw invalid(`patches.${name}`, "must be a function (payload) => state patch");
    }
  }
  const pipelines = workflow.pipelines;
  if (!isPlainObject(pipelines) || Object.keys(pipelines).length === 0) {
    throw invalid("pipelines", "must be an object with at least one pipeline");
  }
  // no trigger can name a pipeline "" (a trigger's pipeline is a non-empty string)
  if (Object.hasOwn(pipelines, "")) throw invalid("pipelines", 'a pipeline needs an id ("" is not one)');
  const triggers = workflow.triggers;
  if (!isPlainObject(triggers) || Object.keys(triggers).length === 0) {
    throw invalid("triggers", "must be an object with at least one trigger");
  }
  // ids are non-empty everywhere else (workflow, stage, step, service, patch mapper)
  if (Object.hasOwn(triggers, "")) throw invalid("triggers", 'a trigger needs an id ("" is not one)');
  for (const [triggerId, trigger] of Object.entries(triggers)) {
    const at = `triggers.${triggerId}`;
    if (!isPlainObject(trigger)) throw invalid(at, "must be an object with event and pipeline");
    onlyKnownKeys(trigger, TRIGGER_KEYS, at);
    if (!isNonEmptyString(trigger.event)) throw invalid(`${at}.event`, "must be a non-empty bus event name");
    if (isControlEvent(trigger.event)) {
      throw invalid(`${at}.event`, `"${trigger.event}" is a runtime control event; pick another event name`);
    }
    if (trigger.event === "*") {
      throw invalid(
        `${at}.event`,
        `"*" is the bus's wildcard (its handlers get the event name, not a payload); name the event to trigger on`,
      );
    }
    if (!isNonEmptyString(trigger.pipeline)) {
      throw invalid(
        `${at}.pipeline`,
        `must be the id of one of the workflow's pipelines (pipelines: ${Object.keys(pipelines).join(", ")})`,
      );
    }
    if (!Object.hasOwn(pipelines, trigger.pipeline)) {
      throw invalid(
        `${at}.pipeline`,
        `names pipeline ${describeValue(trigger.pipeline)}, which is not defined (pipelines: ${Object.keys(pipelines).join(", ")})`,
      );
    }
    if (trigger.when !== undefined) validateConditions(trigger.when, `${at}.when`);
    if (trigger.map !== undefined && typeof trigger.map !== "function")
      throw invalid(`${at}.map`, "must be a function");
    if (trigger.key !== undefined && typeof trigger.key !== "function") {
      throw invalid(
        `${at}.key`,
        `must be a function of the payload returning the run's idempotency key, e.g. key: (p) => p.orderId (got ${describeKind(trigger.key)})`,
      );
    }
    if (trigger.rateLimit !== undefined) validateRateLimit(trigger.rateLimit, `${at}.rateLimit`);
    if (trigger.debounce !== undefined) validateDebounce(trigger.debounce, `${at}.debounce`);
    if (trigger.throttle !== undefined) validateThrottle(trigger.throttle, `${at}.throttle`);
    if (trigger.cancelOn !== undefined) validateCancelOn(trigger.cancelOn, `${at}.cancelOn`);
    if (trigger.batch !== undefined) {
      validateBatch(trigger.batch, `${at}.batch`);
      if (trigger.debounce !== undefined)
        throw invalid(
          `${at}.batch`,
          "cannot be combined with debounce (both hold events back); keep one: batch runs once per group of events, debounce once per quiet spell",
        );
      if (trigger.cancelOn !== undefined)
        throw invalid(
          `${at}.batch`,
          "cannot be combined with cancelOn (a batch holds the events of many payloads, which one event cannot match); abort a batch's run with abort(runId)",
        );
    }
  }
  validateServices(workflow.services, "services", true);
  validateEnvLayer(workflow.env, "env");
}
