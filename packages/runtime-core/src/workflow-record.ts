import type { ArtifactTemplate, ScopedContainer } from "@sluice/artifacts";
import type { Pipeline, PipelineObserver, PipelineRegistry } from "@sluice/pipeline";
import type { BatchedEvents } from "./batched-events.js";
import { CancelIndex } from "./cancel-index.js";
import type { DebouncedEvents } from "./debounced-events.js";
import { IdempotencyKeys } from "./idempotency-keys.js";
import { KeptResults } from "./kept-results.js";
import type { ExecutionPolicy } from "./modes/execution-policy.js";
import type { PauseWindow } from "./pause-window.js";
import { RateLimit } from "./rate-limit.js";
import type { ThrottledEvents } from "./throttled-events.js";
import { initialStateName } from "./trigger-payload.js";
import type {
  ConcurrencyKey,
  RegisterOptions,
  RunPriority,
  RunState,
  TriggerDefinition,
  Workflow,
} from "./types.js";

/** Everything the runtime holds for one registered workflow. */
export class WorkflowRecord {
  policy!: ExecutionPolicy;
  observer: PipelineObserver | undefined = undefined;
  /** The workflow's named patch mappers (`Workflow.patches`), which waits refer to by name. */
  readonly patches: ReadonlyMap<string, (payload: any) => object>;
  /** Their names, as the run's pause service checks a registration's string `patch` against. */
  readonly patchNames: ReadonlySet<string>;
  /** The results of its last ended runs (`RegisterOptions.keepResults`); `undefined` when it keeps none. */
  readonly keptResults: KeptResults | undefined;
  /** Which unfinished run holds each idempotency key (the key space its triggers' `key` share). */
  readonly keys = new IdempotencyKeys();
  /**
   * What each trigger's runs' initial state is made of, for messages (`initialStateName`): made once
   * here, not per run, for only a state that cannot be read uses it.
   */
  readonly stateNames: ReadonlyMap<string, string>;
  /** The events each of its triggers' `debounce` holds, made at a trigger's first held event. */
  readonly debounces = new Map<string, DebouncedEvents>();
  /** The events waiting for each of its triggers' `throttle`, made at a trigger's first throttled event. */
  readonly throttles = new Map<string, ThrottledEvents>();
  /** The batches each of its triggers' `batch` is collecting, made at a trigger's first batched event. */
  readonly batches = new Map<string, BatchedEvents>();
  /**
   * Set as its deregistration begins: a bus event already on its way to its triggers (a hook
   * deregistered it, or stopped the runtime, earlier in the same dispatch) must not be held then.
   */
  deregistered = false;
  /** The state of each of its triggers' `rateLimit` (triggers without one have none). */
  readonly rateLimits: ReadonlyMap<string, RateLimit>;
  /** Its unfinished runs by its triggers' `cancelOn` rules; `undefined` when no trigger declares one. */
  readonly cancels: CancelIndex | undefined;
  /** Its mode's concurrency `key` (`transient` and `serialized`), which each bus-triggered run is given. */
  readonly concurrencyKey: ConcurrencyKey<any> | undefined;
  /** Its mode's `priority` (`transient` and `serialized`), which each bus-triggered run is given. */
  readonly priority: RunPriority<any> | undefined;

  constructor(
    readonly id: string,
    /** The definition as `register()` read it (see readDefinition), never the host's object. */
    readonly definition: Workflow<any>,
    /** The register options as `register()` read them, likewise. */
    readonly options: RegisterOptions<any>,
    readonly triggers: ReadonlyMap<string, TriggerDefinition<any, RunState>>,
    readonly pipelines: ReadonlyMap<string, Pipeline<RunState>>,
    readonly scope: ScopedContainer,
    readonly runTemplates: readonly ArtifactTemplate[],
    readonly registry: PipelineRegistry,
    readonly pauseWindow: PauseWindow,
    /** How long each hook's promise is waited for (`RegisterOptions.hookTimeoutMs`, else the runtime's). */
    readonly hookTimeoutMs: number,
  ) {
    this.patches = new Map(Object.entries(definition.patches ?? {}));
    this.patchNames = new Set(this.patches.keys());
    const stateNames = new Map<string, string>();
    const rateLimits = new Map<string, RateLimit>();
    for (const [triggerId, trigger] of triggers) {
      stateNames.set(triggerId, initialStateName(id, triggerId, trigger));
      const limit = trigger.rateLimit;
      if (limit !== undefined) rateLimits.set(triggerId, new RateLimit(limit.limit, limit.periodMs));
    }
    this.stateNames = stateNames;
    this.rateLimits = rateLimits;
    this.cancels = CancelIndex.of(triggers);
    const mode = options.mode;
    const queued = mode !== undefined && (mode.type === "transient" || mode.type === "serialized");
    this.concurrencyKey = queued ? mode.key : undefined;
    this.priority = queued ? mode.priority : undefined;
    const keep = options.keepResults ?? 0;
    this.keptResults = keep > 0 ? new KeptResults(keep) : undefined;
  }
}
