// docs/pause-and-resume.md's "In a browser tab" recipe as a user copies it into an app module: the
// test bundles this file with the recipe's code block in place of the marker line below.
// Around the block: what it declares (the workflow `orders`; `tellTheServer`, the app's work at a
// run's end, which here records the run and never settles: the server is slow), and after it the
// app's own code, which places and approves orders on the recipe's bus, and says through
// `window.__sluiceRecipe` that the module finished loading.
import type { RunResult } from "@sluice/runtime-core";
import { orderWorkflow as orders } from "./order-workflow.js";

void orders; // used by the recipe
const told: string[] = [];
function tellTheServer(result: RunResult): Promise<void> {
  told.push(result.metadata.runId ?? "?");
  return new Promise(() => {});
}
void tellTheServer;
// The recipe exports it; declared so that this file type-checks without the recipe (the docs'
// check type-checks the recipe itself).
declare const bus: import("@sluice/events").EventBus;

/* the recipe */

window.__sluiceRecipe = {
  told,
  emit: (type, payload) => bus.emit(type, payload),
  // whether this tab's runtime listens: to a trigger once registered, to a wait once a run waits
  listening: (type) => bus.listenerCount(type) > 0,
};

declare global {
  interface Window {
    __sluiceRecipe?: {
      told: string[];
      emit(type: string, payload: unknown): void;
      listening(type: string): boolean;
    };
  }
}
