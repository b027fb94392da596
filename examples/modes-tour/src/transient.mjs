// transient: up to `concurrency` runs at once, then a FIFO queue up to `capacity`, then dropped.
import { tour } from "./tour.mjs";

await tour({
  mode: { type: "transient", concurrency: 2, capacity: 2 },
  burst: [150, 10, 10, 10, 10, 10],
  note: "2 run at once, 2 wait, the rest are dropped; job 1 is slow, so runs finish out of arrival order",
});
