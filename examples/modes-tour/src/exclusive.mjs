// exclusive: at most one active run; an event while it is busy is rejected, or (queue_single)
// kept as the one pending run: a newer event supersedes it, and the older is reported dropped.
import { tour } from "./tour.mjs";

await tour({
  mode: { type: "exclusive", onBusy: "reject" },
  burst: [40, 10, 10, 10],
  later: 10,
  note: "events that arrive while run#1 is active are rejected; once it ends, the next event starts a run",
});

await tour({
  mode: { type: "exclusive", onBusy: "queue_single" },
  burst: [40, 10, 10, 10],
  note: "one run waits behind the active one; each newer event supersedes it (latest wins)",
});
