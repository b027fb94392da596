// LangGraph.js: a StateGraph of three nodes. The pause is `interrupt()` inside node 2, resumed with
// `new Command({ resume })` on the same thread; MemorySaver is the checkpointer. A finished thread
// is deleted from the saver, as a long-lived host would do to keep memory bounded.
import { Annotation, Command, END, interrupt, MemorySaver, START, StateGraph } from "@langchain/langgraph";
import { resumePayload } from "../checks.mjs";
import { probe, probed } from "../measure.mjs";

const State = Annotation.Root({
  id: Annotation(),
  a: Annotation(),
  b: Annotation(),
  c: Annotation(),
  approved: Annotation(),
});

// LangGraph forbids a node named like a state key, hence s1/s2/s3.
function graph(node2) {
  return new StateGraph(State)
    .addNode("s1", async () => probed({ a: 1 }))
    .addNode("s2", node2)
    .addNode("s3", async () => probed({ c: 3 }))
    .addEdge(START, "s1")
    .addEdge("s1", "s2")
    .addEdge("s2", "s3")
    .addEdge("s3", END);
}

/** @type {import("./contract.mjs").CreateLinear} */
export async function createLinear() {
  const app = graph(async () => probed({ b: 2 })).compile();
  return { invoke: (id) => app.invoke({ id }), close: async () => {} };
}

/** @type {import("./contract.mjs").CreatePausing} */
export async function createPausing() {
  const checkpointer = new MemorySaver();
  const app = graph(async () => {
    // Runs again on resume: interrupt() then returns the resume value instead of pausing.
    const payload = interrupt({ waitingFor: "approve" });
    probe();
    return { ...payload, b: 2 };
  }).compile({ checkpointer });
  return {
    async start(id) {
      const threadId = `t${id}`;
      const out = await app.invoke({ id }, { configurable: { thread_id: threadId } });
      if (!out.__interrupt__) throw new Error(`langgraph start ${id}: the run did not pause`);
      return threadId;
    },
    async resume(threadId, id) {
      const state = await app.invoke(new Command({ resume: resumePayload(id) }), {
        configurable: { thread_id: threadId },
      });
      await checkpointer.deleteThread(threadId);
      return state;
    },
    close: async () => {},
  };
}
