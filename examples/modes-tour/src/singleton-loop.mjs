// singleton_loop: at most one active run; an event while it is busy is dropped, signalled into
// the active run's state, or replaces it (the active run is aborted and a new one starts).
import { tour } from "./tour.mjs";

await tour({
  mode: { type: "singleton_loop", onBusy: "drop" },
  burst: [40, 10, 10, 10],
  later: 10,
  note: "events that arrive while run#1 is active are dropped; once it ends, the next event starts a run",
});

await tour({
  mode: { type: "singleton_loop", onBusy: "signal" },
  burst: [40, 10, 10, 10],
  note: "events that arrive while run#1 is active are merged into its state: it ends with the last one's job",
});

await tour({
  mode: { type: "singleton_loop", onBusy: "replace" },
  burst: [40, 40, 40, 40],
  note: "each event aborts the active run and starts a new one: only the last run completes",
});
