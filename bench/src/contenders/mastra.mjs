// Mastra workflows (@mastra/core 0.24.x, the last line whose engines allow Node 20): three steps
// chained with .then(); the pause is `suspend()` in step 2, resumed with `run.resume({ resumeData })`.
// Resuming needs the snapshot store, so the workflow is registered on a Mastra with InMemoryStore;
// the handle kept for a parked run is its run id.
import { Mastra } from "@mastra/core";
import { InMemoryStore } from "@mastra/core/storage";
import { createStep, createWorkflow } from "@mastra/core/workflows";
import { z } from "zod";
import { resumePayload } from "../checks.mjs";
import { probe, probed } from "../measure.mjs";

const State = z.object({
  id: z.number(),
  a: z.number().optional(),
  b: z.number().optional(),
  c: z.number().optional(),
  approved: z.boolean().optional(),
});

const patchStep = (id, patch) =>
  createStep({
    id,
    inputSchema: State,
    outputSchema: State,
    execute: async ({ inputData }) => probed({ ...inputData, ...patch }),
  });

const waitStep = createStep({
  id: "s2",
  inputSchema: State,
  outputSchema: State,
  resumeSchema: z.object({ id: z.number(), approved: z.boolean() }),
  execute: async ({ inputData, resumeData, suspend }) => {
    if (!resumeData) return await suspend({ waitingFor: "approve" });
    probe();
    return { ...inputData, ...resumeData, b: 2 };
  },
});

function build(id, middle) {
  const workflow = createWorkflow({ id, inputSchema: State, outputSchema: State })
    .then(patchStep("s1", { a: 1 }))
    .then(middle)
    .then(patchStep("s3", { c: 3 }))
    .commit();
  const mastra = new Mastra({ workflows: { [id]: workflow }, storage: new InMemoryStore(), logger: false });
  return mastra.getWorkflow(id);
}

function output(result, what) {
  if (result.status !== "success") throw new Error(`mastra ${what}: status ${result.status}`);
  return result.result;
}

/** @type {import("./contract.mjs").CreateLinear} */
export async function createLinear() {
  const workflow = build("linear", patchStep("s2", { b: 2 }));
  return {
    async invoke(id) {
      const run = await workflow.createRunAsync();
      return output(await run.start({ inputData: { id } }), "invoke");
    },
    close: async () => {},
  };
}

/** @type {import("./contract.mjs").CreatePausing} */
export async function createPausing() {
  const workflow = build("pausing", waitStep);
  return {
    async start(id) {
      const run = await workflow.createRunAsync();
      const result = await run.start({ inputData: { id } });
      if (result.status !== "suspended") throw new Error(`mastra start ${id}: status ${result.status}`);
      return run.runId;
    },
    async resume(runId, id) {
      const run = await workflow.createRunAsync({ runId });
      return output(await run.resume({ step: "s2", resumeData: resumePayload(id) }), "resume");
    },
    close: async () => {},
  };
}
