// The vitest entry points from a CommonJS test file: require() loads their ES module (Node 20.19+).
const { createEventBus } = require("@sluice/events");
const { describeEventBusConformance } = require("@sluice/events/conformance/vitest");
const { describeTimelineConformance } = require("@sluice/timeline/conformance/vitest");

describeEventBusConformance("createEventBus, through require()", {
  create: () => createEventBus({ onError: () => {} }),
});
if (typeof describeTimelineConformance !== "function") {
  throw new Error('require("@sluice/timeline/conformance/vitest") has no describeTimelineConformance');
}
