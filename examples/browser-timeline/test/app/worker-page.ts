// A page whose runtime runs in a worker (`?shared=1`: a SharedWorker): it starts the worker and
// talks to it over the bus only.
import { createBroadcastEventBus } from "@sluice/events-broadcast";

const seen: { type: string; payload: unknown }[] = [];
const bus = createBroadcastEventBus({ channel: "shop" });
bus.on("*", (type, payload) => seen.push({ type, payload }));
if (new URLSearchParams(location.search).has("shared")) new SharedWorker("/worker.js", { type: "module" });
else new Worker("/worker.js", { type: "module" });
window.__sluiceWorkerPage = { seen, emit: (type, payload) => bus.emit(type, payload) };

declare global {
  interface Window {
    __sluiceWorkerPage?: { seen: typeof seen; emit(type: string, payload: unknown): void };
  }
}
