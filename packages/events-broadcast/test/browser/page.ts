// Bundled by @sluice/test-browser (openBundledPage) into the Chromium test pages: the built package,
// driven from the test through window.__sluice. Two pages of one browser context load it.
import { SystemError } from "@sluice/errors";
import { runEventBusConformance } from "@sluice/events/conformance";
import { type BroadcastEventBus, createBroadcastEventBus } from "../../dist/index.js";

/** An event as this page's handler got it, as plain data the test process can receive. */
export interface Seen {
  type: string;
  payload: unknown;
  /** The payload's `at`, when it arrived as a Date: its time. */
  at?: number;
}

/** One conformance case's outcome. */
export interface PageResult {
  name: string;
  passed: boolean;
  error?: string;
}

declare global {
  interface Window {
    __sluice?: {
      open(channel: string): void;
      emit(type: string, payload: unknown, at?: number): void;
      seen(): Seen[];
      close(): void;
      /** What emit throws now, as `code: message`, or "no error". */
      emitAfterClose(): string;
      /**
       * Emits `type` with a payload Chromium's BroadcastChannel posts but never delivers (a
       * WebAssembly.Module), then reports whether `delivered()` resolved within `ms`.
       */
      emitUndeliverable(type: string, ms: number): Promise<"delivered" | "still waiting">;
      /**
       * Emits `type`, whose own handler (on this bus) emits `${type}.module` with an undeliverable
       * payload, calls `delivered()` right after the first emit, and reports whether it resolved
       * within `ms`.
       */
      emitUndeliverableFromHandler(type: string, ms: number): Promise<"delivered" | "still waiting">;
      /** What onError got, as `type: code`. */
      errors(): string[];
      runConformance(): Promise<PageResult[]>;
    };
    __sluiceError?: string;
  }
}

let bus: BroadcastEventBus | undefined;
const seen: Seen[] = [];
const errors: string[] = [];
let n = 0;

window.__sluice = {
  open(channel) {
    bus = createBroadcastEventBus({
      channel,
      onError: (error, type) => errors.push(`${type}: ${SystemError.is(error) ? error.code : String(error)}`),
    });
    bus.on("*", (type, payload) => {
      const at = (payload as { at?: unknown } | undefined)?.at;
      const entry: Seen = {
        type: String(type),
        payload: at instanceof Date ? { ...(payload as object), at: "Date" } : payload,
      };
      if (at instanceof Date) entry.at = at.getTime();
      seen.push(entry);
    });
  },
  emit(type, payload, at) {
    bus!.emit(type, at === undefined ? payload : { ...(payload as object), at: new Date(at) });
  },
  seen: () => seen,
  errors: () => errors,
  async emitUndeliverable(type, ms) {
    // the smallest valid module: 8 bytes of header
    bus!.emit(type, { module: new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])) });
    return Promise.race([
      bus!.delivered().then(() => "delivered" as const),
      new Promise<"still waiting">((resolve) => setTimeout(() => resolve("still waiting"), ms)),
    ]);
  },
  async emitUndeliverableFromHandler(type, ms) {
    const off = bus!.on(type, () => {
      off();
      bus!.emit(`${type}.module`, {
        module: new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])),
      });
    });
    bus!.emit(type, {});
    return Promise.race([
      bus!.delivered().then(() => "delivered" as const),
      new Promise<"still waiting">((resolve) => setTimeout(() => resolve("still waiting"), ms)),
    ]);
  },
  close: () => bus!.close(),
  emitAfterClose() {
    try {
      bus!.emit("late", 1);
      return "no error";
    } catch (error) {
      return SystemError.is(error) ? `${error.code}: ${error.message}` : String(error);
    }
  },
  async runConformance() {
    const results = await runEventBusConformance({
      create: () =>
        createBroadcastEventBus({ channel: `conformance-${++n}-${Math.random()}`, onError: () => {} }),
      settled: (b) => b.delivered(),
      cleanup: (b) => b.close(),
    });
    return results.map((r) => {
      const result: PageResult = { name: r.name, passed: r.passed };
      if (!r.passed) result.error = r.error instanceof Error ? r.error.message : String(r.error);
      return result;
    });
  },
};
