// Condition matching benchmark for @sluice/pause. Prints figures; it is never a timed test.
// Run: pnpm --filter @sluice/pause build && pnpm --filter @sluice/pause bench
import { matchesConditions, matchPauseRequest } from "../dist/index.js";

const conditions = [
  { path: "orderId", op: "==", value: "A1" },
  { path: "customer.tier", op: "!=", value: "blocked" },
  { path: "items.0.qty", op: ">=", value: 1 },
  { path: "approvedBy", op: "exists" },
];
const request = { id: "p1", event: "order.approved", conditions };
const hit = { orderId: "A1", customer: { tier: "vip" }, items: [{ qty: 2 }], approvedBy: "bob" };
const miss = { orderId: "B2", customer: { tier: "vip" }, items: [{ qty: 2 }], approvedBy: "bob" };

function measure(name, fn, n = 2_000_000) {
  for (let i = 0; i < 200_000; i++) fn(i);
  const rounds = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(i);
    rounds.push(Number(process.hrtime.bigint() - t0) / n);
  }
  rounds.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(44)} best ${rounds[0].toFixed(1).padStart(6)} ns/op  median ${rounds[2].toFixed(1).padStart(6)} ns/op`,
  );
}

let sink = 0;
console.log(`node ${process.version}`);
measure(
  "matchesConditions, 4 conditions, all met",
  () => (sink += matchesConditions(hit, conditions) ? 1 : 0),
);
measure(
  "matchesConditions, first condition fails",
  () => (sink += matchesConditions(miss, conditions) ? 1 : 0),
);
measure(
  "matchPauseRequest, other event name",
  () => (sink += matchPauseRequest(request, "order.placed", hit) ? 1 : 0),
);
measure(
  "matchPauseRequest, match",
  () => (sink += matchPauseRequest(request, "order.approved", hit) ? 1 : 0),
);
if (sink === -1) console.log(sink);
