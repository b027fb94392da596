import { Queue } from "./queue.js";

/** Runs callbacks one per task, soon; see {@link createTaskScheduler}. */
export interface TaskScheduler {
  /** Runs `run` in a task of its own, after the tasks already scheduled here. */
  next(run: () => void): void;
  /** Drops what is scheduled and lets go of the channel it uses. */
  close(): void;
}

/**
 * Runs callbacks each in a task of its own (the microtasks one queues run before the next), as
 * soon as the event loop gets to them: through a `MessageChannel`, which browsers, Node, Deno and
 * Bun have. A `setTimeout(…, 0)` task is clamped to a millisecond or more, which held a bus that
 * runs one event per task to a thousand events a second. Without a `MessageChannel`, `setTimeout`
 * it is. In Node the channel does not keep the process alive.
 */
export function createTaskScheduler(): TaskScheduler {
  const Channel = (globalThis as { MessageChannel?: typeof MessageChannel }).MessageChannel;
  if (typeof Channel !== "function") {
    const timers = new Set<ReturnType<typeof setTimeout>>();
    return {
      next(run) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          run();
        }, 0);
        timers.add(timer);
      },
      close() {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
      },
    };
  }
  let channel: MessageChannel | undefined;
  let runs = new Queue<() => void>();
  return {
    next(run) {
      if (channel === undefined) {
        channel = new Channel();
        const queue = runs;
        channel.port1.onmessage = () => queue.shift()?.();
        (channel.port1 as { unref?: () => void }).unref?.();
      }
      runs.push(run);
      channel.port2.postMessage(undefined);
    },
    close() {
      channel?.port1.close();
      channel?.port2.close();
      channel = undefined;
      runs = new Queue();
    },
  };
}
