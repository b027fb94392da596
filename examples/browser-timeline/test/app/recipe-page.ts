// docs/pause-and-resume.md's "In a browser tab" recipe as a user copies it into an app module: the
// test bundles this file with the recipe's code block in place of the marker line below.
// Around the block: the workflow it declares (`orders`), and after it the app's own code, which
// places and approves orders on a bus of its own on the recipe's channel, and says through
// `window.__sluiceRecipe` that the module finished loading.
import { orderWorkflow as orders } from "./order-workflow.js";

void orders; // used by the recipe
// The recipe imports it; declared so that this file type-checks without the recipe (the docs'
// check type-checks the recipe itself).
declare const createBroadcastEventBus: typeof import("@sluice/events-broadcast").createBroadcastEventBus;

/* the recipe */

const ui = createBroadcastEventBus({ channel: "orders" });
window.__sluiceRecipe = { emit: (type, payload) => ui.emit(type, payload) };

declare global {
  interface Window {
    __sluiceRecipe?: { emit(type: string, payload: unknown): void };
  }
}
