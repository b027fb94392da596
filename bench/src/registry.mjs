// Contenders and workloads by id. The runner reads labels and orders from here; the worker loads
// the contender module it is told to and runs one workload on it.
import {
  createArrayTimeline,
  createIndexedDBTimeline,
  createMemoryTimeline,
  createSqliteTimeline,
} from "./contenders/timelines.mjs";

export const CONTENDERS = {
  plain: { label: "plain async (floor)", load: () => import("./contenders/plain.mjs") },
  sluice: {
    label: "Sluice",
    // pauseWindowMs 0 (the contender's default): parked runs keep only their JSON checkpoint
    load: async () => (await import("./contenders/sluice.mjs")).sluiceContender({ timeline: false }),
  },
  "sluice-warm": {
    label: "Sluice, default pause window (resumed while live)",
    load: async () =>
      (await import("./contenders/sluice.mjs")).sluiceContender({ timeline: false, pauseWindowMs: 30_000 }),
  },
  "sluice-timeline": {
    label: "Sluice + memory timeline",
    load: async () => (await import("./contenders/sluice.mjs")).sluiceContender({ timeline: true }),
  },
  langgraph: { label: "LangGraph.js", load: () => import("./contenders/langgraph.mjs") },
  xstate: { label: "XState v5", load: () => import("./contenders/xstate.mjs") },
  mastra: { label: "Mastra workflows", load: () => import("./contenders/mastra.mjs") },
  "timeline-array": {
    label: "array push (floor)",
    load: async () => ({ createTimeline: createArrayTimeline }),
  },
  "timeline-memory": {
    label: "@sluice/timeline-memory",
    load: async () => ({ createTimeline: createMemoryTimeline }),
  },
  "timeline-sqlite": {
    label: "@sluice/timeline-sqlite (file)",
    load: async () => ({ createTimeline: createSqliteTimeline }),
  },
  "timeline-indexeddb": {
    label: "@sluice/timeline-indexeddb (fake-indexeddb)",
    load: async () => ({ createTimeline: createIndexedDBTimeline }),
  },
};

const ENGINES = ["plain", "sluice", "sluice-timeline", "langgraph", "xstate", "mastra"];
const TIMELINES = ["timeline-array", "timeline-memory", "timeline-sqlite", "timeline-indexeddb"];

/**
 * Workload id → which contenders run it, which is the floor, and the figures it reports.
 * LangGraph, XState and Mastra have no bus that starts runs from events, so W5 is Sluice and the floor.
 */
export const WORKLOADS = {
  W1: { title: "sequential invoke, 3-step linear workflow", contenders: ENGINES, floor: "plain" },
  W2: {
    title: "10k runs started at once",
    contenders: ENGINES.filter((c) => c !== "sluice-timeline"),
    floor: "plain",
  },
  W3: {
    title: "pause → resume cycle (event with payload), to completion",
    contenders: ["plain", "sluice", "sluice-warm", "sluice-timeline", "langgraph", "xstate", "mastra"],
    floor: "plain",
  },
  W4: {
    title: "heap per parked run, 10k parked, after GC",
    contenders: ENGINES.filter((c) => c !== "sluice-timeline"),
    floor: "plain",
  },
  W5: {
    title: "bus-triggered dispatch into a transient workflow",
    contenders: ["plain", "sluice", "sluice-timeline"],
    floor: "plain",
  },
  W6: { title: "timeline append per adapter", contenders: TIMELINES, floor: "timeline-array" },
};
