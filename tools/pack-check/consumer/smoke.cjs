// The CommonJS builds at work, not only loading: a two-step workflow through require() of the
// runtime, the bus, the state store and the memory timeline. Exits 1 on a problem.
const { WorkflowRuntime, defineWorkflow } = require("@sluice/runtime-core");
const { createEventBus } = require("@sluice/events");
const { StoreRegistry } = require("@sluice/store");
const { createMemoryTimelineStore } = require("@sluice/timeline-memory");
const { SystemError } = require("@sluice/errors");

const workflow = defineWorkflow({
  id: "two-steps",
  triggers: { go: { event: "go", pipeline: "main" } },
  pipelines: {
    main: {
      stages: [
        { id: "add", steps: [{ id: "add", action: (ctx) => ({ n: ctx.state().n + 1 }) }] },
        { id: "scale", steps: [{ id: "scale", action: (ctx) => ({ n: ctx.state().n * 10 }) }] },
      ],
    },
  },
});

async function main() {
  const timelineStore = await createMemoryTimelineStore();
  const runtime = new WorkflowRuntime({
    bus: createEventBus(),
    storeRegistry: new StoreRegistry(),
    timelineStore,
  });
  await runtime.register(workflow, {});
  const result = await runtime.invoke("two-steps", "go", { n: 1 });
  const unknown = await runtime.invoke("no-such-workflow", "go", {});
  await runtime.flushTimeline();
  const page = await timelineStore.query({ runId: result.metadata.runId, limit: 100 });
  await runtime.stop();
  const problems = [];
  if (!result.ok || result.value.state.n !== 20)
    problems.push(`the run did not complete with n = 20: ${JSON.stringify(result)}`);
  if (page.events.at(-1)?.type !== "run.completed")
    problems.push("the timeline does not end with run.completed");
  // One SystemError class across the CommonJS builds of every package.
  if (unknown.ok || !(unknown.error instanceof SystemError) || unknown.error.code !== "NOT_FOUND") {
    problems.push(`an unknown workflow is not a NOT_FOUND SystemError: ${JSON.stringify(unknown)}`);
  }
  for (const problem of problems) console.error(`CommonJS: ${problem}`);
  console.log(`consumer (CommonJS): 1 workflow run, ${problems.length} problem(s)`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(`CommonJS: ${e.stack ?? e}`);
  process.exitCode = 1;
});
