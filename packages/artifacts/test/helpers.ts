import type { SystemError } from "@sluice/errors";

/** Collects what a container reports through `onError`. */
export function errorSink(): { errors: SystemError[]; onError: (e: SystemError) => void } {
  const errors: SystemError[] = [];
  return { errors, onError: (e) => errors.push(e) };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A promise plus its resolve function, to hold a factory open. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}
