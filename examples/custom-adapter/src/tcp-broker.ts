import { createServer, type Socket } from "node:net";

/**
 * A stand-in for Redis pub/sub or core NATS: a TCP server on loopback that fans every published
 * message out to every connection, the publisher's own included, in the order it read them. The
 * wire is JSON lines (see {@link BrokerFrame}).
 */
export interface TcpBroker {
  /** The port the broker listens on (127.0.0.1). */
  readonly port: number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

/**
 * One line on the wire. Client to broker: `pub` (publish `text`, the payload as JSON, absent for
 * `undefined`) and `ping`. Broker to client: `msg` (a published message) and `pong` (the answer to
 * this connection's `ping` of that id, sent after every message the broker forwarded to it before).
 */
export type BrokerFrame =
  | { op: "pub"; type: string; text?: string }
  | { op: "msg"; type: string; text?: string }
  | { op: "ping"; id: number }
  | { op: "pong"; id: number };

/**
 * Calls `receive` with each whole JSON line that arrives on `socket`.
 *
 * @throws nothing: a line that is not a frame (not JSON, or JSON of another shape) is handed to
 *   `onBadLine`.
 */
export function readFrames(
  socket: Socket,
  receive: (frame: BrokerFrame) => void,
  onBadLine: (line: string, error: unknown) => void,
): void {
  let pending = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    pending += chunk;
    let end = pending.indexOf("\n");
    while (end !== -1) {
      const line = pending.slice(0, end);
      pending = pending.slice(end + 1);
      if (line !== "") {
        let frame: unknown;
        try {
          frame = JSON.parse(line);
        } catch (error) {
          frame = error;
        }
        // JSON that is not a frame (`null`, a number, no `op`) is as foreign as a line that is not JSON
        if (isFrame(frame)) receive(frame);
        else onBadLine(line, frame instanceof Error ? frame : new Error("not a broker frame"));
      }
      end = pending.indexOf("\n");
    }
  });
}

function isFrame(value: unknown): value is BrokerFrame {
  if (typeof value !== "object" || value === null) return false;
  const frame = value as { op?: unknown; type?: unknown; text?: unknown; id?: unknown };
  if (frame.op === "ping" || frame.op === "pong") return typeof frame.id === "number";
  return (
    (frame.op === "pub" || frame.op === "msg") &&
    typeof frame.type === "string" &&
    (frame.text === undefined || typeof frame.text === "string")
  );
}

/** Writes one frame as a JSON line. */
export function writeFrame(socket: Socket, frame: BrokerFrame): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(frame)}\n`);
}

/**
 * Starts a broker on 127.0.0.1 (`port` 0, the default, picks a free one).
 *
 * @example
 * ```ts
 * const broker = await startTcpBroker();
 * const bus = await createTcpEventBus({ port: broker.port });
 * ```
 */
export async function startTcpBroker(port = 0): Promise<TcpBroker> {
  const connections = new Set<Socket>();
  const server = createServer((socket) => {
    connections.add(socket);
    socket.setNoDelay(true);
    socket.on("close", () => connections.delete(socket));
    socket.on("error", () => socket.destroy()); // a client gone mid-write: drop it, keep the others
    readFrames(
      socket,
      (frame) => {
        if (frame.op === "pub") {
          const out: BrokerFrame =
            frame.text === undefined
              ? { op: "msg", type: frame.type }
              : { op: "msg", type: frame.type, text: frame.text };
          for (const connection of connections) writeFrame(connection, out);
        } else if (frame.op === "ping") {
          writeFrame(socket, { op: "pong", id: frame.id });
        }
      },
      () => socket.destroy(), // a client that speaks something else
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("tcp broker: no port");
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of connections) connection.destroy();
        server.close(() => resolve());
      }),
  };
}
