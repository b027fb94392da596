// The whole story in one command: process 1 parks three orders and shuts down keeping them,
// process 2 (a new Node process on the same SQLite file) adopts and finishes them.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const dir = mkdtempSync(join(tmpdir(), "sluice-restart-"));
const db = process.env.SLUICE_RESTART_DB || join(dir, "timeline.sqlite");
const checkpoints = process.env.SLUICE_RESTART_CHECKPOINTS || join(dir, "checkpoints.json");

for (const script of ["first-process.mjs", "second-process.mjs"]) {
  // stdio inherited: the children's output is the user's, as it comes
  const child = spawnSync(process.execPath, [join(import.meta.dirname, script), db, checkpoints], {
    stdio: "inherit",
  });
  if (child.status !== 0) {
    console.error(`\n${script} exited with ${child.status ?? child.signal}`);
    process.exit(1);
  }
  if (script === "first-process.mjs") console.log("\n── process 1 has exited; starting process 2 ──\n");
}
