import { connect, type Socket } from "node:net";
import { catchRejection, refuseUnknownKeys, SystemError } from "@sluice/errors";
import { assertEmittableType, assertSubscription, type EventBus, reportToOnError } from "@sluice/events";
import { type BrokerFrame, readFrames, writeFrame } from "./tcp-broker.js";

/** Options of {@link createTcpEventBus}. */
export interface TcpEventBusOptions {
  /** The broker's port. */
  port: number;
  /** The broker's host. Default `127.0.0.1`. */
  host?: string;
  /** Where a throwing handler is reported. Default: `console.error` naming the event type. */
  onError?: (error: unknown, type: string, payload: unknown) => void;
}

/** An {@link EventBus} over a {@link startTcpBroker} connection. */
export interface TcpEventBus extends EventBus {
  /**
   * Resolves once the broker has answered a ping sent now: every message it forwarded to this
   * connection before, this connection's own emits included, has been delivered to its handlers.
   */
  roundTrip(): Promise<void>;
  /** How many messages this connection has received: a `settled` loop stops once it stays still. */
  readonly received: number;
  /** Closes the connection: nothing more is delivered; `emit` and `on` throw `INVALID_STATE`. */
  close(): void;
}

const OPTIONS: ReadonlySet<string> = new Set(["port", "host", "onError"]);

interface Subscription {
  readonly type: string;
  readonly handler: (...args: unknown[]) => unknown;
  live: boolean;
}

/**
 * Connects to a TCP broker and resolves with a bus on it. Emits are sent as JSON and delivered
 * when the broker echoes them back, so delivery is always later than `emit`, in the broker's order,
 * each message in a task of its own.
 *
 * @throws SystemError `INVALID_INPUT` for an unknown option; `INVALID_STATE` (the socket's error as
 * `cause`) when the broker cannot be reached.
 */
export async function createTcpEventBus(options: TcpEventBusOptions): Promise<TcpEventBus> {
  refuseUnknownKeys(options, OPTIONS, "options", { caller: "createTcpEventBus" });
  const { port, host = "127.0.0.1" } = options;
  const onError =
    options.onError ?? ((error: unknown, type: string) => console.error(`a "${type}" handler threw:`, error));
  const socket: Socket = await new Promise((resolve, reject) => {
    const s = connect({ port, host }, () => {
      s.off("error", reject);
      resolve(s);
    });
    s.once("error", (cause) =>
      reject(new SystemError("INVALID_STATE", `createTcpEventBus: cannot reach ${host}:${port}`, { cause })),
    );
  });
  socket.setNoDelay(true);

  // replaced, never mutated: a delivery walks the list as it was when it began
  let subscriptions: Subscription[] = [];
  let closed = false;
  let received = 0;
  let nextPing = 0;
  const pongs = new Map<number, () => void>();

  const report = (error: unknown, type: string, payload: unknown) =>
    reportToOnError(onError, error, type, payload, "tcp-bus", `a "${type}" handler error`);

  const deliver = (type: string, text: string | undefined) => {
    received++;
    let payload: unknown;
    try {
      payload = text === undefined ? undefined : JSON.parse(text);
    } catch (error) {
      // a foreign publisher's payload that is not JSON: reported, and the next frames go on
      report(error, type, text);
      return;
    }
    for (const sub of subscriptions) {
      if (!sub.live || (sub.type !== type && sub.type !== "*")) continue; // live: unsubscribed mid-delivery
      try {
        const out = sub.type === "*" ? sub.handler(type, payload) : sub.handler(payload);
        if (out !== undefined) catchRejection(out, (error) => report(error, type, payload)); // an async handler
      } catch (error) {
        report(error, type, payload);
      }
    }
  };

  const handle = (frame: BrokerFrame) => {
    if (closed) return; // a message the broker sent before close() arrives after it
    if (frame.op === "msg") deliver(frame.type, frame.text);
    else if (frame.op === "pong") {
      pongs.get(frame.id)?.();
      pongs.delete(frame.id);
    }
  };
  // One frame per task. A read often holds several frames (an order and a peer's approval of it,
  // when this process was busy); handed over in one synchronous loop, the approval would reach the
  // runtime before the run the order started (in microtasks) has registered its wait, and be lost.
  const inbox: BrokerFrame[] = [];
  const deliverNext = () => {
    handle(inbox.shift()!);
    if (inbox.length > 0) setImmediate(deliverNext);
  };
  readFrames(
    socket,
    (frame) => {
      if (inbox.push(frame) === 1) setImmediate(deliverNext);
    },
    (line, error) => report(error, "(unparsable frame)", line),
  );
  socket.on("error", (error) => report(error, "(connection)", undefined));
  socket.on("close", () => {
    for (const resolve of pongs.values()) resolve(); // nothing more will arrive: nothing to wait for
    pongs.clear();
  });

  const refuseClosed = (call: string) => {
    if (closed) throw new SystemError("INVALID_STATE", `tcpBus.${call}: the bus is closed; create a new one`);
  };

  const bus: TcpEventBus = {
    emit(type: string, payload: unknown): void {
      assertEmittableType(type);
      refuseClosed("emit");
      let text: string | undefined;
      try {
        text = JSON.stringify(payload);
      } catch (cause) {
        throw new SystemError("INVALID_INPUT", `tcpBus.emit("${type}"): the payload is not JSON`, { cause });
      }
      writeFrame(socket, text === undefined ? { op: "pub", type } : { op: "pub", type, text });
    },
    on(type: string, handler: (...args: never[]) => unknown): () => void {
      assertSubscription(type, handler); // createEventBus's checks and messages
      refuseClosed("on");
      const sub: Subscription = { type, handler: handler as Subscription["handler"], live: true };
      subscriptions = [...subscriptions, sub];
      return () => {
        if (!sub.live) return;
        sub.live = false;
        subscriptions = subscriptions.filter((other) => other !== sub);
      };
    },
    listenerCount(type?: string): number {
      return subscriptions.filter((sub) => type === undefined || sub.type === type).length;
    },
    roundTrip(): Promise<void> {
      if (closed || socket.destroyed) return Promise.resolve();
      const id = nextPing++;
      const answered = new Promise<void>((resolve) => pongs.set(id, resolve));
      writeFrame(socket, { op: "ping", id });
      return answered;
    },
    get received() {
      return received;
    },
    close(): void {
      if (closed) return;
      closed = true;
      for (const sub of subscriptions) sub.live = false;
      subscriptions = [];
      socket.end();
      for (const resolve of pongs.values()) resolve();
      pongs.clear();
    },
  };
  return bus;
}
