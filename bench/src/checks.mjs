// Every contender must do the same work: these checks fail the worker (and so the whole bench)
// when a run's final state is not what the workload asked for.

/** A linear run: the three steps each patched one field into the input. */
export function checkLinear(state, id) {
  if (state?.id !== id || state.a !== 1 || state.b !== 2 || state.c !== 3) {
    throw new Error(`linear run ${id}: unexpected final state ${JSON.stringify(state)}`);
  }
}

/** A paused run: step 1, the resume payload ({ id, approved: true }) merged, then steps 2 and 3. */
export function checkResumed(state, id) {
  if (state?.id !== id || state.a !== 1 || state.approved !== true || state.b !== 2 || state.c !== 3) {
    throw new Error(`paused run ${id}: unexpected final state ${JSON.stringify(state)}`);
  }
}

/** The payload every resume carries. */
export function resumePayload(id) {
  return { id, approved: true };
}

/**
 * Ends the worker with a failure. For errors raised where a throw would be swallowed (an engine's
 * hook, a bus handler): the runner then reports the contender as crashed and exits non-zero.
 */
export function die(message, error) {
  console.error(message, error ?? "");
  process.exit(1);
}
