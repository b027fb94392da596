// A priority: serialized with `priority`, one run at a time; when the slot frees, the queued run of
// highest priority starts, equal priorities in arrival order.
import { tour } from "./tour.mjs";

await tour({
  mode: { type: "serialized", priority: (input) => input.priority },
  title: '{ type: "serialized", priority: (input) => input.priority }',
  burst: [40, 10, 10, 10, 10],
  priorities: [0, 0, 5, 1, 5],
  note: "one at a time; the queued jobs start by priority (3 and 5 at 5, then 4 at 1, then 2 at 0), not in arrival order",
});
