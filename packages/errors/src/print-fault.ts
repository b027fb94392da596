import { describeThrown } from "./describe-thrown.js";

/**
 * Writes `message` and then `fault` to `console.error`, as a last-resort report (an `onError` that
 * threw, say). `console.error` inspects the value, and that can throw too (an Error-like value
 * whose `name` getter throws): then the fault is written as its {@link describeThrown} text
 * instead. Never throws.
 */
export function printFault(message: string, fault: unknown): void {
  try {
    console.error(message, fault);
  } catch {
    console.error(`${message} ${describeThrown(fault)}`);
  }
}
