// What a contender module may export; a workload runs only for contenders that export its factory.
// Each factory builds a fresh engine instance in the worker process; `close()` tears it down.

/**
 * W1, W2: a 3-step linear workflow; `invoke(id)` runs it with input `{ id }` and resolves to the
 * final state `{ id, a: 1, b: 2, c: 3 }`, or, for an engine that resolves to an envelope around
 * the state, to that envelope, which `stateOf` unwraps synchronously (throwing if the run did not
 * complete): the unwrap a user's code does after its own `await`, without an extra async layer
 * that only the benchmark would pay for.
 * @typedef {() => Promise<{
 *   invoke(id: number): Promise<unknown>,
 *   stateOf?(resolved: unknown): object,
 *   close(): Promise<void>,
 * }>} CreateLinear
 */

/**
 * W3, W4: step 1, then a pause waiting for an event, then steps 2 and 3. `start(id)` resolves once
 * the run is parked, to the smallest handle the engine needs to resume it; `resume(handle, id)`
 * delivers the event with payload `{ id, approved: true }` and resolves to the final state.
 * @typedef {() => Promise<{
 *   start(id: number): Promise<unknown>,
 *   resume(handle: unknown, id: number): Promise<object>,
 *   close(): Promise<void>,
 * }>} CreatePausing
 */

/**
 * W5: bus-triggered dispatch. `emit(id)` publishes one event `{ id }` on the engine's bus; each
 * event must start one linear run (at most `concurrency` at once, the rest queued) and report its
 * final state through `onComplete`.
 * @typedef {(options: { concurrency: number, capacity: number, onComplete(state: object): void }) =>
 *   Promise<{ emit(id: number): void, close(): Promise<void> }>} CreateDispatch
 */

/**
 * W6: a timeline store. `append(events)` stores a batch.
 * @typedef {() => Promise<{ append(events: object[]): Promise<void>, close(): Promise<void> }>} CreateTimeline
 */

export {};
