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

  /** Wires every trigger of `wf` and subscribes to its events. */
  add(wf: WorkflowRecord): void {
    for (const [triggerId, trigger] of wf.triggers) {
      let bindings = this.byEvent.get(trigger.event);
      if (bindings === undefined) this.byEvent.set(trigger.event, (bindings = []));
      bindings.push({ workflow: wf, triggerId, trigger });
      this.subscriptions.acquire(trigger.event);
    }
  }

  /** Unwires every trigger of `wf` and releases its events. */
  remove(wf: WorkflowRecord): void {
    for (const trigger of wf.triggers.values()) {
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
