import type { BusSubscriptions } from "./bus-subscriptions.js";
import type { RunState, TriggerDefinition } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/** A trigger wired into the dispatch index. */
export interface TriggerBinding {
  readonly workflow: WorkflowRecord;
  readonly triggerId: string;
  readonly trigger: TriggerDefinition<any, RunState>;
}

/** Event name → the triggers it fires, across workflows: one lookup per bus event. */
export class TriggerIndex {
  private readonly byEvent = new Map<string, TriggerBinding[]>();

  constructor(private readonly subscriptions: BusSubscriptions) {}

  /** The triggers `event` fires, or `undefined`. */
  get(event: string): readonly TriggerBinding[] | undefined {
    return this.byEvent.get(event);
  }

  /**
   * Wires every trigger of `wf` and subscribes to its events. When the bus refuses a subscription
   * (throws), the triggers wired so far are unwired again and the error is thrown.
   */
  add(wf: WorkflowRecord): void {
    const wired: TriggerDefinition<any, RunState>[] = [];
    try {
      for (const [triggerId, trigger] of wf.triggers) {
        this.subscriptions.acquire(trigger.event);
        wired.push(trigger);
        // a new array, as in unwire: a dispatch loop under way (a workflow registered from
        // onDispatch or a hook while an event is delivered) must not hand that event to it
        const bindings = this.byEvent.get(trigger.event) ?? [];
        this.byEvent.set(trigger.event, [...bindings, { workflow: wf, triggerId, trigger }]);
      }
    } catch (error) {
      this.unwire(wf, wired);
      throw error;
    }
  }

  /** Unwires every trigger of `wf` and releases its events. */
  remove(wf: WorkflowRecord): void {
    this.unwire(wf, wf.triggers.values());
  }

  private unwire(wf: WorkflowRecord, triggers: Iterable<TriggerDefinition<any, RunState>>): void {
    for (const trigger of triggers) {
      const bindings = this.byEvent.get(trigger.event);
      if (bindings !== undefined) {
        // a new array: a dispatch loop under way over the old one must not see it shift
        const rest = bindings.filter((b) => b.workflow !== wf);
        if (rest.length === 0) this.byEvent.delete(trigger.event);
        else this.byEvent.set(trigger.event, rest);
      }
      this.subscriptions.release(trigger.event);
    }
  }
}
