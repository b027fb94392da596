// A small order service as a team would ship it: a node:http server whose handlers call a Sluice
// runtime (built dist), a SQLite timeline file, checkpoints saved as JSON files by onPause (the
// crash recipe of docs/pause-and-resume.md), a fake payment gateway and carrier that append what
// they do to files in the service's directory (so a test can read them across processes).
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { SystemError } from "@sluice/errors";
import { createEventBus } from "@sluice/events";
import { WorkflowRuntime } from "@sluice/runtime-core";
import { StoreRegistry } from "@sluice/store";
import { createSqliteTimelineStore } from "../../../timeline-sqlite/dist/index.js";

const lines = (file) =>
  existsSync(file)
    ? readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l))
    : [];

/** The host's payment gateway: charges are idempotent by key, as real gateways are. */
export class FakeGateway {
  constructor(file) {
    this.file = file;
  }
  charge(key, amount) {
    if (lines(this.file).some((c) => c.key === key)) return { key, duplicate: true };
    appendFileSync(this.file, `${JSON.stringify({ key, amount, pid: process.pid })}\n`);
    return { key, duplicate: false };
  }
}

/** The host's carrier: every call ships a parcel (no idempotency), and is recorded. */
export class FakeCarrier {
  constructor(file) {
    this.file = file;
  }
  ship(orderId, runId) {
    appendFileSync(this.file, `${JSON.stringify({ orderId, runId, pid: process.pid })}\n`);
  }
}

export const readLines = lines;

function orderWorkflow({ gateway, carrier }) {
  return {
    id: "orders",
    env: { CARRIER: "parcel-co" },
    patches: { approval: (p) => ({ approvedBy: typeof p.by === "string" ? p.by : "someone" }) },
    services: [
      { id: "gateway", scope: "workflow", factory: () => gateway },
      {
        id: "quote",
        scope: "run",
        factory: async (ctx) => {
          const orderId = await ctx.use((d) => d.select((s) => s.orderId));
          if (String(orderId).startsWith("bad-factory")) throw new Error("pricing backend refused the order");
          return { orderId, fee: 2 };
        },
      },
    ],
    triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
    pipelines: {
      fulfil: {
        stages: [
          {
            id: "validate",
            steps: [
              {
                id: "check",
                action: async (ctx) => {
                  const { orderId, amount } = ctx.state();
                  if (typeof orderId !== "string" || orderId === "")
                    throw new Error("orderId must be a string");
                  if (typeof amount !== "number" || !(amount > 0))
                    throw new Error("amount must be a positive number");
                  if (orderId.startsWith("bad-step")) throw new Error("fraud check exploded");
                  const quote = await ctx.use((d) => d.require("quote"));
                  const env = await ctx.use((d) => d.require("__env__"));
                  ctx.logger.info("validated", { orderId });
                  return {
                    total: amount + quote.fee,
                    carrier: env.get("CARRIER"),
                    currency: env.get("CURRENCY"),
                  };
                },
              },
            ],
          },
          {
            id: "approval",
            steps: [
              {
                id: "ask",
                action: async (ctx) => {
                  // a slow fraud service (holdMs in the order: tests keep a run busy with it)
                  const { holdMs } = ctx.state();
                  if (typeof holdMs === "number") await new Promise((r) => setTimeout(r, holdMs));
                  const pause = await ctx.use((d) => d.require("__pause_service__"));
                  pause.register({
                    id: "approval",
                    event: "order.approved",
                    conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                    patch: "approval",
                  });
                },
              },
            ],
          },
          {
            id: "charge",
            steps: [
              {
                id: "charge",
                action: async (ctx) => {
                  const g = await ctx.use((d) => d.require("gateway"));
                  return { charged: g.charge(ctx.state().orderId, ctx.state().total).key };
                },
              },
            ],
          },
          {
            id: "ship",
            steps: [
              {
                id: "ship",
                action: async (ctx) => {
                  carrier.ship(ctx.state().orderId, ctx.runId);
                  ctx.logger.info("shipped", { orderId: ctx.state().orderId });
                  return { shipped: true };
                },
              },
            ],
          },
        ],
      },
    },
  };
}

const refundWorkflow = (gateway) => ({
  id: "refunds",
  triggers: { requested: { event: "refund.requested", pipeline: "refund" } },
  pipelines: {
    refund: {
      stages: [
        { id: "refund", steps: [{ id: "refund", action: () => ({ refunded: gateway !== undefined }) }] },
      ],
    },
  },
});

const reindexWorkflow = (hooks) => ({
  id: "reindex",
  triggers: { changed: { event: "catalog.changed", pipeline: "index" } },
  pipelines: {
    index: {
      stages: [
        {
          id: "index",
          steps: [
            {
              id: "index",
              action: async (ctx) => {
                if (hooks.reindex) await hooks.reindex(ctx.state().version);
                return { indexed: ctx.state().version };
              },
            },
          ],
        },
      ],
    },
  },
});

/**
 * Starts the service in `dir` (timeline.sqlite, checkpoints/, charges.jsonl, shipments.jsonl).
 * `hooks` (in-process only) lets a test hold the reindex step, the checkpoint save, and see
 * onComplete, onCleanup and onError.
 */
export async function startOrderService({ dir, port = 0, hooks = {}, recover = false, timeline = {} }) {
  mkdirSync(join(dir, "checkpoints"), { recursive: true });
  const errors = [];
  const bus = createEventBus();
  const timelineStore = await createSqliteTimelineStore({ filename: join(dir, "timeline.sqlite") });
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    timelineStore,
    env: { CURRENCY: "EUR" },
    timeline: { flushIntervalMs: 0, ...timeline },
    onError: (error) => {
      errors.push(error);
      hooks.onError?.(error);
    },
  });
  const gateway = new FakeGateway(join(dir, "charges.jsonl"));
  const carrier = new FakeCarrier(join(dir, "shipments.jsonl"));

  // Checkpoints: saved when a run parks (after its events reached the timeline), deleted when it
  // ends (after its end reached the timeline), as docs/pause-and-resume.md recommends.
  const checkpointFile = (runId) => join(dir, "checkpoints", `${runId}.json`);
  const saving = new Map();
  const checkpointHooks = {
    onPause: (ctx) => {
      const checkpoint = runtime.checkpoint(ctx.runId);
      const save = (async () => {
        await runtime.flushTimeline();
        if (hooks.onPauseSave) await hooks.onPauseSave(ctx.runId);
        writeFileSync(`${checkpointFile(ctx.runId)}.tmp`, JSON.stringify(checkpoint));
        renameSync(`${checkpointFile(ctx.runId)}.tmp`, checkpointFile(ctx.runId));
      })();
      saving.set(ctx.runId, save);
      return save;
    },
    onCleanup: async (info) => {
      await saving.get(info.runId)?.catch(() => {});
      saving.delete(info.runId);
      await runtime.flushTimeline();
      rmSync(checkpointFile(info.runId), { force: true });
      hooks.onCleanup?.(info);
    },
  };

  // Bus-started runs: the run id comes back through onDispatch, synchronously inside emit().
  let dispatched;
  const orders = new Map(); // orderId -> runId, of the orders this process took
  await runtime.register(orderWorkflow({ gateway, carrier }), {
    mode: { type: "transient", concurrency: 8, capacity: hooks.capacity ?? 1000 },
    pauseWindowMs: 0,
    onDispatch: (d) => {
      dispatched = d;
    },
    onComplete: hooks.onComplete,
    ...checkpointHooks,
  });
  await runtime.register(refundWorkflow(gateway), {
    mode: { type: "serialized", capacity: 5 },
    onDispatch: (d) => {
      dispatched = d;
    },
  });
  await runtime.register(reindexWorkflow(hooks), {
    mode: { type: "exclusive", onBusy: "queue_single" },
    onDispatch: (d) => {
      dispatched = d;
    },
  });

  const recovered = [];
  if (recover) {
    for (const name of readdirSync(join(dir, "checkpoints"))) {
      if (!name.endsWith(".json")) continue;
      const checkpoint = JSON.parse(readFileSync(join(dir, "checkpoints", name), "utf8"));
      try {
        const info = await runtime.recover(checkpoint);
        recovered.push(info.runId);
        orders.set(checkpoint.state.orderId, info.runId);
      } catch (error) {
        if (SystemError.is(error, "INVALID_STATE") && error.details?.ended !== undefined) {
          rmSync(join(dir, "checkpoints", name), { force: true });
        } else throw error;
      }
    }
  }

  const emit = (event, payload) => {
    dispatched = undefined;
    bus.emit(event, payload);
    const d = dispatched;
    dispatched = undefined;
    return d;
  };

  const send = (res, status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const fail = (res, status, error) =>
    send(res, status, { error: { code: error.code ?? "INTERNAL", message: error.message } });
  const readBody = async (req) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    try {
      return { ok: true, value: text === "" ? undefined : JSON.parse(text) };
    } catch (error) {
      return { ok: false, error: { code: "INVALID_INPUT", message: `body is not JSON: ${error.message}` } };
    }
  };

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url, "http://x");
      const parts = url.pathname.split("/").filter((p) => p !== "");
      const body = await readBody(req);
      if (!body.ok) return fail(res, 400, body.error);
      if (req.method === "POST" && url.pathname === "/orders") {
        const d = emit("order.placed", body.value);
        if (d === undefined) return fail(res, 500, { message: "no trigger took the order" });
        if (d.outcome === "rejected") return fail(res, 400, { code: "INVALID_INPUT", message: d.reason });
        if (d.outcome === "dropped") return fail(res, 503, { code: "UNAVAILABLE", message: d.reason });
        orders.set(body.value.orderId, d.runId);
        return send(res, 202, { runId: d.runId, outcome: d.outcome });
      }
      if (req.method === "POST" && url.pathname === "/orders/now") {
        const result = await runtime.invoke("orders", "placed", body.value);
        if (!result.ok) {
          const status =
            result.metadata.runId === undefined ? (result.error.code === "INVALID_STATE" ? 503 : 400) : 422;
          return send(res, status, {
            runId: result.metadata.runId,
            error: { code: result.error.code, message: result.error.message },
          });
        }
        orders.set(body.value.orderId, result.metadata.runId);
        return send(res, 200, { runId: result.metadata.runId, status: result.value.status });
      }
      if (req.method === "POST" && parts[0] === "orders" && parts[2] === "approve" && parts.length === 3) {
        const runId = orders.get(parts[1]);
        if (runId === undefined)
          return fail(res, 404, { code: "NOT_FOUND", message: `no order ${parts[1]}` });
        emit("order.approved", { orderId: parts[1], by: body.value?.by });
        return send(res, 202, { runId });
      }
      if (req.method === "POST" && url.pathname === "/refunds") {
        const d = emit("refund.requested", body.value);
        return send(res, d.outcome === "dropped" ? 503 : d.outcome === "rejected" ? 400 : 202, d);
      }
      if (req.method === "POST" && url.pathname === "/catalog/reindex") {
        const d = emit("catalog.changed", body.value);
        return send(res, 202, { outcome: d.outcome, runId: d.runId });
      }
      if (req.method === "POST" && parts[0] === "runs" && parts[2] === "abort" && parts.length === 3) {
        await runtime.abort(parts[1]);
        return send(res, 200, runtime.findRun(parts[1]) ?? { runId: parts[1] });
      }
      if (req.method === "GET" && url.pathname === "/runs") return send(res, 200, runtime.listAllRuns());
      if (req.method === "GET" && parts[0] === "runs" && parts.length === 2) {
        const run = runtime.findRun(parts[1]);
        return run === undefined
          ? fail(res, 404, { code: "NOT_FOUND", message: "no such run" })
          : send(res, 200, run);
      }
      if (req.method === "GET" && parts[0] === "runs" && parts[2] === "result") {
        const result = await runtime.result(parts[1]);
        return send(res, result.ok || result.metadata.runId !== undefined ? 200 : 404, {
          ok: result.ok,
          status: result.ok ? result.value.status : undefined,
          state: result.ok ? result.value.state : result.metadata.state,
          error: result.ok ? undefined : { code: result.error.code, message: result.error.message },
        });
      }
      if (req.method === "GET" && parts[0] === "runs" && parts[2] === "timeline") {
        await runtime.flushTimeline();
        const events = [];
        let next;
        do {
          const page = await timelineStore.query({ runId: parts[1], limit: 200, ...(next ? { next } : {}) });
          events.push(...page.events);
          next = page.next;
        } while (next !== undefined);
        return send(
          res,
          200,
          events.sort((a, b) => a.seq - b.seq),
        );
      }
      return fail(res, 404, { code: "NOT_FOUND", message: `no route ${req.method} ${url.pathname}` });
    } catch (error) {
      const status = SystemError.is(error, "NOT_FOUND") ? 404 : SystemError.is(error) ? 409 : 500;
      return fail(res, status, error);
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));

  /** drain (events still resume runs), drain again, detach and save the parked, stop, close. */
  async function shutdown({ timeoutMs = 10_000 } = {}) {
    await runtime.drain({ timeoutMs });
    const { paused, drained } = await runtime.drain({ timeoutMs });
    const detached = await Promise.allSettled(paused.map((runId) => runtime.detach(runId)));
    for (const d of detached) {
      if (d.status !== "fulfilled") continue;
      writeFileSync(checkpointFile(d.value.runId), JSON.stringify(d.value));
    }
    await new Promise((resolve) => server.close(resolve));
    await runtime.stop();
    await timelineStore.close();
    return { paused, drained, detached: detached.filter((d) => d.status === "fulfilled").length };
  }

  return {
    url: `http://127.0.0.1:${server.address().port}`,
    runtime,
    bus,
    timelineStore,
    errors,
    recovered,
    orders,
    server,
    shutdown,
  };
}
