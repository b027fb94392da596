// The order service as its own process: `node child.mjs <dir> [recover]`. Prints
// "listening <url> <recovered run ids, comma-separated>" once it serves, shuts down gracefully on
// SIGTERM (printing "stopped <report JSON>") and can be killed with SIGKILL at any moment.
import { startOrderService } from "./order-service.mjs";

const [dir, mode] = process.argv.slice(2);
const service = await startOrderService({
  dir,
  recover: mode === "recover",
  hooks: { onError: (e) => process.stderr.write(`${e.code}: ${e.message}\n`) },
});
let stopping = false;
process.on("SIGTERM", async () => {
  if (stopping) return; // a second signal changes nothing
  stopping = true;
  const report = await service.shutdown();
  process.stdout.write(`stopped ${JSON.stringify(report)}\n`);
  process.exit(0);
});
process.stdout.write(`listening ${service.url} ${service.recovered.join(",")}\n`);
