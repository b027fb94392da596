/**
 * True for anything `await` would wait on: an object or function with a callable `then`. Reading
 * `then` runs a getter if there is one, which may throw (a hostile value): callers that take
 * untrusted values catch it.
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
