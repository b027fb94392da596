// XState v5: a machine of three states, each invoking a promise actor; the pause is a state that
// waits for an APPROVE event, which carries the payload. An actor lives in memory: its handle is
// the actor itself.
import { assign, createActor, fromPromise, setup, toPromise, waitFor } from "xstate";
import { resumePayload } from "../checks.mjs";
import { probed } from "../measure.mjs";

const actors = {
  s1: fromPromise(async () => probed({ a: 1 })),
  s2: fromPromise(async () => probed({ b: 2 })),
  s3: fromPromise(async () => probed({ c: 3 })),
};
const merge = assign(({ event }) => event.output);
const step = (src, target) => ({ invoke: { src, onDone: { target, actions: merge } } });

const linear = setup({ actors }).createMachine({
  id: "linear",
  initial: "s1",
  context: ({ input }) => ({ ...input }),
  states: { s1: step("s1", "s2"), s2: step("s2", "s3"), s3: step("s3", "done"), done: { type: "final" } },
  output: ({ context }) => context,
});

const pausing = setup({ actors }).createMachine({
  id: "pausing",
  initial: "s1",
  context: ({ input }) => ({ ...input }),
  states: {
    s1: step("s1", "waiting"),
    waiting: {
      on: {
        APPROVE: {
          target: "s2",
          actions: assign(({ event }) => ({ id: event.id, approved: event.approved })),
        },
      },
    },
    s2: step("s2", "s3"),
    s3: step("s3", "done"),
    done: { type: "final" },
  },
  output: ({ context }) => context,
});

/** @type {import("./contract.mjs").CreateLinear} */
export async function createLinear() {
  return {
    invoke(id) {
      const actor = createActor(linear, { input: { id } });
      actor.start();
      return toPromise(actor);
    },
    close: async () => {},
  };
}

/** @type {import("./contract.mjs").CreatePausing} */
export async function createPausing() {
  return {
    async start(id) {
      const actor = createActor(pausing, { input: { id } });
      actor.start();
      await waitFor(actor, (s) => s.matches("waiting"));
      return actor;
    },
    resume(actor, id) {
      actor.send({ type: "APPROVE", ...resumePayload(id) });
      return toPromise(actor);
    },
    close: async () => {},
  };
}
