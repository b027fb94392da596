// Trial: Sluice embedded in a real Node service (test/service/order-service.mjs, on the built dist):
// a node:http server whose handlers start runs through the bus and `invoke`, approve, abort and
// read them, with a SQLite timeline file and checkpoints saved by onPause. Used as production
// does, through fetch: bursts, races, a graceful shutdown and restart, a SIGKILL and recovery.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
// @ts-expect-error plain ESM module shared with the child process
import { readLines, startOrderService } from "./service/order-service.mjs";

const here = dirname(fileURLToPath(import.meta.url));
let dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-service-"));
  dirs.push(dir);
  return dir;
};
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

const post = async (url: string, body?: unknown) => {
  const res = await fetch(url, {
    method: "POST",
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as any };
};
const until = async (what: string, check: () => boolean | Promise<boolean>, ms = 20_000) => {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** Starts test/service/child.mjs; resolves once it listens, with its url and recovered runs. */
function startChild(dir: string, mode = "") {
  const child = spawn(process.execPath, [join(here, "service", "child.mjs"), dir, mode], {
    cwd: join(here, ".."),
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => {
    out += String(d);
  });
  child.stderr!.on("data", (d) => {
    err += String(d);
  });
  const exited = new Promise<number | string>((resolve) => child.once("exit", (c, s) => resolve(c ?? s!)));
  const listening = (async () => {
    await until("the child to listen", () => out.includes("\n") || child.exitCode !== null, 30_000);
    const m = /listening (\S+) (\S*)/.exec(out);
    if (m === null) throw new Error(`child did not start: ${out} ${err}`);
    return { url: m[1]!, recovered: m[2] === "" ? [] : m[2]!.split(",") };
  })();
  return { child, listening, exited, out: () => out, err: () => err };
}

describe("an order service on Sluice, over HTTP", () => {
  it("a burst of orders with racing, duplicate and unknown approvals and racing aborts: every order ends once", async () => {
    const dir = tempDir();
    const ended: any[] = [];
    const service = await startOrderService({ dir, hooks: { onComplete: (r: any) => ended.push(r) } });
    const N = 200;
    const aborted = new Set<string>();
    const placed = await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const orderId = `o${i}`;
        const placedRes = await post(`${service.url}/orders`, { orderId, amount: i + 1 });
        expect(placedRes.status, JSON.stringify(placedRes.body)).toBe(202);
        const { runId } = placedRes.body;
        const acts: Promise<unknown>[] = [post(`${service.url}/orders/${orderId}/approve`, { by: "ann" })];
        if (i % 3 === 0) acts.push(post(`${service.url}/orders/${orderId}/approve`, { by: "bob" }));
        if (i % 7 === 0) acts.push(post(`${service.url}/orders/nope-${i}/approve`, {}));
        if (i % 10 === 0) {
          aborted.add(runId);
          acts.push(post(`${service.url}/runs/${runId}/abort`));
        }
        await Promise.all(acts);
        return runId as string;
      }),
    );
    await until("every run to end", () => ended.length >= N);
    await new Promise((r) => setTimeout(r, 50));
    expect(ended.length).toBe(N);
    expect(new Set(ended.map((r) => r.metadata.runId)).size).toBe(N);
    const shipments = readLines(join(dir, "shipments.jsonl"));
    const charges = readLines(join(dir, "charges.jsonl"));
    for (const r of ended) {
      expect(r.ok, JSON.stringify(r.error)).toBe(true);
      const status = r.value.status;
      if (!aborted.has(r.metadata.runId)) expect(status).toBe("completed");
      const shippedTimes = shipments.filter((s: any) => s.runId === r.metadata.runId).length;
      expect(shippedTimes).toBe(status === "completed" ? 1 : 0);
      if (status === "completed") expect(r.value.state.approvedBy).toMatch(/^(ann|bob)$/);
    }
    expect(charges.length).toBe(new Set(charges.map((c: any) => c.key)).size);
    expect(service.errors.map((e: any) => `${e.code}: ${e.message}`)).toEqual([]);
    await until(
      "every checkpoint to be deleted",
      () => readdirSync(join(dir, "checkpoints")).filter((f) => f.endsWith(".json")).length === 0,
    );
    // every run's story is whole: seq 1, 2, 3… ending in its end
    for (const runId of placed.slice(0, 20)) {
      const { body: events } = await get(`${service.url}/runs/${runId}/timeline`);
      expect(events.map((e: any) => e.seq)).toEqual(events.map((_: unknown, i: number) => i + 1));
      expect(events.at(-1).type).toMatch(/^run\.(completed|aborted)$/);
    }
    await service.shutdown();
  }, 60_000);
  it("SIGTERM while requests are in flight: new orders refused cleanly, parked runs saved; the next process recovers them and approvals after the restart ship them, one timeline per run", async () => {
    const dir = tempDir();
    const first = startChild(dir);
    const { url } = await first.listening;
    const placed = new Map<string, string>(); // orderId -> runId
    await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const r = await post(`${url}/orders`, { orderId: `s${i}`, amount: 10 + i });
        expect(r.status).toBe(202);
        placed.set(`s${i}`, r.body.runId);
      }),
    );
    await until(
      "30 parked runs",
      async () => (await get(`${url}/runs`)).body.filter((r: any) => r.status === "paused").length === 30,
    );
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => post(`${url}/orders/s${i}/approve`, { by: "ann" })),
    );
    // a slow order keeps the drain waiting while orders and approvals keep coming
    const slow = await post(`${url}/orders`, { orderId: "slow", amount: 1, holdMs: 1000 });
    placed.set("slow", slow.body.runId);
    const late = () =>
      Array.from({ length: 20 }, (_, i) =>
        post(`${url}/orders${i % 2 ? "/now" : ""}`, { orderId: `late${i}`, amount: 5 }).then(
          (r) => ({ orderId: `late${i}`, ...r }),
          (error: Error) => ({ orderId: `late${i}`, status: 0, body: String(error) }),
        ),
      );
    first.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    const lateApprovals = Array.from({ length: 5 }, (_, i) =>
      post(`${url}/orders/s${10 + i}/approve`, { by: "late" }).catch(() => undefined),
    );
    const lateResults = await Promise.all(late());
    await Promise.all(lateApprovals);
    expect(await first.exited, first.err()).toBe(0);
    for (const r of lateResults) {
      expect([0, 200, 202, 503], JSON.stringify(r)).toContain(r.status);
      if (r.status === 202) placed.set(r.orderId, r.body.runId);
    }
    const saved = readdirSync(join(dir, "checkpoints")).filter((f) => f.endsWith(".json"));
    const shippedBefore = readLines(join(dir, "shipments.jsonl"));
    // every order placed is either shipped or saved, none both
    for (const [orderId, runId] of placed) {
      const shipped = shippedBefore.filter((s: any) => s.orderId === orderId).length;
      expect(shipped + (saved.includes(`${runId}.json`) ? 1 : 0), orderId).toBe(1);
    }
    expect(first.err()).toBe("");

    const second = startChild(dir, "recover");
    const restarted = await second.listening;
    expect(restarted.recovered.sort()).toEqual(saved.map((f) => f.replace(/\.json$/, "")).sort());
    const waiting = [...placed].filter(([, runId]) => restarted.recovered.includes(runId));
    await Promise.all(
      waiting.map(([orderId]) => post(`${restarted.url}/orders/${orderId}/approve`, { by: "bea" })),
    );
    await until("every order shipped", () => readLines(join(dir, "shipments.jsonl")).length === placed.size);
    await until(
      "every checkpoint deleted",
      () => readdirSync(join(dir, "checkpoints")).filter((f) => f.endsWith(".json")).length === 0,
    );
    const shipments = readLines(join(dir, "shipments.jsonl"));
    expect(new Set(shipments.map((s: any) => s.orderId)).size).toBe(placed.size);
    for (const [, runId] of waiting) {
      const { body: events } = await get(`${restarted.url}/runs/${runId}/timeline`);
      const types = events.map((e: any) => e.type);
      expect(events.map((e: any) => e.seq)).toEqual(events.map((_: unknown, i: number) => i + 1));
      expect(types[0]).toBe("run.started");
      expect(types.filter((t: string) => t === "run.paused").length).toBe(1);
      expect(types.at(-1)).toBe("run.completed");
      expect(types.filter((t: string) => t === "step.completed" && true).length).toBe(4);
    }
    second.child.kill("SIGTERM");
    expect(await second.exited, second.err()).toBe(0);
    expect(second.err()).toBe("");
  }, 90_000);
  it("SIGKILL mid-burst, then recovery: no order ships twice outside the documented window, none is lost unseen, every timeline is whole", async () => {
    const dir = tempDir();
    const first = startChild(dir);
    const { url } = await first.listening;
    const accepted = new Map<string, string>(); // orderId -> runId, answered 202 before the kill
    let killed = false;
    const burst = Array.from({ length: 150 }, async (_, i) => {
      const orderId = `k${i}`;
      try {
        const r = await post(`${url}/orders`, { orderId, amount: 1 + i });
        if (r.status === 202) accepted.set(orderId, r.body.runId);
        await post(`${url}/orders/${orderId}/approve`, { by: "ann" });
      } catch {
        expect(killed).toBe(true); // only the kill breaks a request
      }
    });
    await until("a few shipments", () => readLines(join(dir, "shipments.jsonl")).length >= 40);
    killed = true;
    first.child.kill("SIGKILL");
    await Promise.all(burst);
    expect(await first.exited).toBe("SIGKILL");
    const shippedBeforeCrash = readLines(join(dir, "shipments.jsonl"));

    const second = startChild(dir, "recover");
    const restarted = await second.listening;
    // the approvals' source redelivers what it has no acknowledgement for: an approval counts as
    // done once its run has ended, so every recovered run is approved again
    const recoveredOrders = [...accepted].filter(([, runId]) => restarted.recovered.includes(runId));
    await Promise.all(
      recoveredOrders.map(([orderId]) => post(`${restarted.url}/orders/${orderId}/approve`, { by: "ann" })),
    );
    await until("every recovered run to end", () =>
      readdirSync(join(dir, "checkpoints")).every((f) => !f.endsWith(".json")),
    );
    const shipments = readLines(join(dir, "shipments.jsonl"));
    const lost: string[] = [];
    const reshipped: string[] = [];
    for (const [orderId, runId] of accepted) {
      const { body: events } = await get(`${restarted.url}/runs/${runId}/timeline`);
      const ids = events.map((e: any) => e.id);
      expect(new Set(ids).size, orderId).toBe(ids.length);
      expect(
        events.map((e: any) => e.seq),
        orderId,
      ).toEqual(events.map((_: unknown, i: number) => i + 1));
      const times = shipments.filter((s: any) => s.orderId === orderId).length;
      const types = events.map((e: any) => e.type);
      if (times === 0) {
        // documented: a run that crashed before its first checkpoint was saved does not come back;
        // its timeline shows it never parked (or never ended), so the host can find it
        expect(types, orderId).not.toContain("run.completed");
        expect(restarted.recovered).not.toContain(runId);
        lost.push(orderId);
      } else if (times > 1) {
        // documented: a run that crashed after its resume, before its end was stored, comes back
        // parked at that pause and runs its stages again (at least once); the carrier needs an
        // idempotency key. Its timeline shows the rerun after whatever the crash left stored.
        expect(times, orderId).toBe(2);
        expect(restarted.recovered, orderId).toContain(runId);
        reshipped.push(orderId);
      }
      if (times > 0) expect(types.at(-1), orderId).toBe("run.completed");
    }
    console.log(
      `[figure] crash: ${accepted.size} accepted, ${shippedBeforeCrash.length} shipped before the kill, ${recoveredOrders.length} recovered, ${lost.length} lost before their first pause, ${reshipped.length} shipped twice`,
    );
    const charges = readLines(join(dir, "charges.jsonl"));
    expect(charges.length).toBe(new Set(charges.map((c: any) => c.key)).size);
    second.child.kill("SIGTERM");
    expect(await second.exited, second.err()).toBe(0);
    expect(second.err()).toBe("");
  }, 90_000);

  it("what a service author meets when things fail: coded errors that say what to fix, and no other run harmed", async () => {
    const dir = tempDir();
    const ended: any[] = [];
    let release!: () => void;
    const reindexGate = new Promise<void>((r) => (release = r));
    const service = await startOrderService({
      dir,
      hooks: {
        reindex: () => reindexGate,
        onComplete: (r: any) => {
          ended.push(r);
          if (r.ok && r.value.state.orderId === "crm") throw new Error("CRM is down");
        },
      },
    });
    const u = service.url;
    // a step that throws, a run service's factory that throws, a payload the step refuses
    const failed = [
      await post(`${u}/orders/now`, { orderId: "bad-step-1", amount: 5 }),
      await post(`${u}/orders/now`, { orderId: "bad-factory-1", amount: 5 }),
      await post(`${u}/orders/now`, { orderId: "x1" }),
    ];
    expect(failed.map((r) => [r.status, r.body.error.code])).toEqual([
      [422, "STEP_FAILED"],
      [422, "STEP_FAILED"],
      [422, "STEP_FAILED"],
    ]);
    expect(failed[0]!.body.error.message).toMatch(/stage "validate", step "check".*fraud check exploded/);
    expect(failed[1]!.body.error.message).toMatch(/factory of artifact "quote".*pricing backend refused/);
    // bodies that are not an object: the bus reports the event rejected, invoke resolves INVALID_INPUT
    for (const body of ["[1,2]", '"text"', "null", "42", ""]) {
      for (const path of ["/orders", "/orders/now"]) {
        const r = await post(`${u}${path}`, body);
        expect([r.status, r.body.error.code], `${path} ${body}`).toEqual([400, "INVALID_INPUT"]);
        expect(r.body.error.message).toMatch(/must be a plain object.*give the trigger a map\(payload\)/);
      }
    }
    expect((await post(`${u}/runs/nope/abort`)).body.error.code).toBe("NOT_FOUND");
    // a hook that throws is reported, and its run still completes
    const crm = await post(`${u}/orders`, { orderId: "crm", amount: 3 });
    await until(
      "crm parked",
      async () => (await get(`${u}/runs/${crm.body.runId}`)).body.status === "paused",
    );
    const crmResult = get(`${u}/runs/${crm.body.runId}/result`);
    await post(`${u}/orders/crm/approve`, { by: "x" });
    expect((await crmResult).body.status).toBe("completed");
    // exclusive queue_single: one runs, the newest waits, the ones between are superseded
    const reindex = [];
    for (let i = 0; i < 4; i++)
      reindex.push((await post(`${u}/catalog/reindex`, { version: i })).body.outcome);
    expect(reindex).toEqual(["started", "queued", "queued", "queued"]);
    release();
    await until("reindex done", () =>
      service.runtime.listAllRuns().every((r: any) => r.status !== "running"),
    );
    await service.runtime.flushTimeline();
    // the timeline store fails under the runtime: reported, and runs still complete
    await service.timelineStore.close();
    const afterClose = await post(`${u}/orders`, { orderId: "c1", amount: 3 });
    await until(
      "c1 parked",
      async () => (await get(`${u}/runs/${afterClose.body.runId}`)).body.status === "paused",
    );
    const c1 = get(`${u}/runs/${afterClose.body.runId}/result`);
    await post(`${u}/orders/c1/approve`, { by: "x" });
    expect((await c1).body.status).toBe("completed");
    expect((await get(`${u}/runs/${afterClose.body.runId}/timeline`)).body.error.code).toBe("DISPOSED");
    const reported = service.errors.map((e: any) => [e.code, e.details?.hook ?? e.details?.runIds]);
    expect(reported).toEqual([
      ["HOOK_FAILED", "onComplete"],
      ["STORAGE_FAILED", [afterClose.body.runId]],
      ["STORAGE_FAILED", [afterClose.body.runId]],
    ]);
    expect(service.errors[0].cause.message).toBe("CRM is down");
    expect(ended.filter((r) => r.ok).map((r) => r.value.state.orderId)).toEqual(["crm", "c1"]);
    await service.runtime.stop();
    await new Promise((r) => service.server.close(r));
  }, 60_000);
});
