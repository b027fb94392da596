import type { BusSubscriptions } from "./bus-subscriptions.js";
import type { CancelOn, RunState, TriggerDefinition } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/** A trigger wired into the dispatch index. */
export interface TriggerBinding {
  readonly workflow: WorkflowRecord;
  readonly triggerId: string;
  readonly trigger: TriggerDefinition<any, RunState>;
}

/** A rule of a trigger's `cancelOn`, wired to its event: `index` is its place in `cancelOn`. */
export interface CancelBinding {
  readonly workflow: WorkflowRecord;
  readonly triggerId: string;
  readonly rule: CancelOn;
  readonly index: number;
}

/**
 * Event name → the triggers it fires and the `cancelOn` rules it meets, across workflows: one
 * lookup each per bus event. Holds one subscription per trigger and per rule.
 */
export class TriggerIndex {
  private readonly byEvent = new Map<string, TriggerBinding[]>();
  private readonly cancelsByEvent = new Map<string, CancelBinding[]>();

  constructor(private readonly subscriptions: BusSubscriptions) {}

  /** The triggers `event` fires, or `undefined`. */
  get(event: string): readonly TriggerBinding[] | undefined {
    return this.byEvent.get(event);
  }

  /** The `cancelOn` rules that name `event`, or `undefined`. */
  cancels(event: string): readonly CancelBinding[] | undefined {
    return this.cancelsByEvent.get(event);
  }

  /**
   * Wires every trigger of `wf` and its `cancelOn` rules, and subscribes to their events. When the
   * bus refuses a subscription (throws), what was wired so far is unwired again and the error is
   * thrown.
   */
  add(wf: WorkflowRecord): void {
    const acquired: string[] = [];
    try {
      for (const [triggerId, trigger] of wf.triggers) {
        this.subscriptions.acquire(trigger.event);
        acquired.push(trigger.event);
        // a new array, as in unwire: a dispatch loop under way (a workflow registered from
        // onDispatch or a hook while an event is delivered) must not hand that event to it
        append(this.byEvent, trigger.event, { workflow: wf, triggerId, trigger });
        const rules = trigger.cancelOn;
        if (rules === undefined) continue;
        for (let index = 0; index < rules.length; index++) {
          const rule = rules[index]!;
          this.subscriptions.acquire(rule.event);
          acquired.push(rule.event);
          append(this.cancelsByEvent, rule.event, { workflow: wf, triggerId, rule, index });
        }
      }
    } catch (error) {
      this.unwire(wf, acquired);
      throw error;
    }
  }

  /** Unwires every trigger of `wf` and its `cancelOn` rules, and releases their events. */
  remove(wf: WorkflowRecord): void {
    const events: string[] = [];
    for (const trigger of wf.triggers.values()) {
      events.push(trigger.event);
      if (trigger.cancelOn !== undefined) for (const rule of trigger.cancelOn) events.push(rule.event);
    }
    this.unwire(wf, events);
  }

  /** Drops `wf`'s bindings and releases one subscription for each of `events`. */
  private unwire(wf: WorkflowRecord, events: readonly string[]): void {
    for (const event of events) {
      without(this.byEvent, event, wf);
      without(this.cancelsByEvent, event, wf);
      this.subscriptions.release(event);
    }
  }
}

/** Adds `binding` under `event`, in a new array (a loop under way over the old one must not see it). */
function append<B>(map: Map<string, B[]>, event: string, binding: B): void {
  map.set(event, [...(map.get(event) ?? []), binding]);
}

/** Drops `wf`'s bindings under `event`, in a new array (a loop under way over the old one must not see it shift). */
function without<B extends { readonly workflow: WorkflowRecord }>(
  map: Map<string, B[]>,
  event: string,
  wf: WorkflowRecord,
): void {
  const bindings = map.get(event);
  if (bindings === undefined || !bindings.some((b) => b.workflow === wf)) return;
  const rest = bindings.filter((b) => b.workflow !== wf);
  if (rest.length === 0) map.delete(event);
  else map.set(event, rest);
}
