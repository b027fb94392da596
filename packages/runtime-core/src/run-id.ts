/**
 * The random start every run id of one runtime shares, dash included. A run id is this head plus
 * a counter: unique across processes with the same odds as a random id, and cheaper than
 * `crypto.randomUUID()` per run (it showed in profiles). `join` makes the head one flat string:
 * concatenation would leave a chain of V8 cons strings that each run id (and each of the thousand
 * finished ones a registry keeps) would carry.
 */
export function runIdHead(): string {
  const c = globalThis.crypto;
  if (c !== undefined && typeof c.getRandomValues === "function") {
    const words = c.getRandomValues(new Uint32Array(2));
    return [words[0]!.toString(36), words[1]!.toString(36), "-"].join("");
  }
  return [Math.random().toString(36).slice(2), Math.random().toString(36).slice(2), "-"].join("");
}
