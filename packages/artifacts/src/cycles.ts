import { SystemError } from "@sluice/errors";
import { type ArtifactRecord, type ChainNode, labelOf, type Slot } from "./records.js";

// Two kinds of cycle are caught before they can hang a build: a factory that (through others)
// resolves itself, found by walking its own chain; and two chains each joining the other's
// in-flight build, found by following what the in-flight builds wait on.

/** The chain from the first occurrence of `record[param]` to the current build, if it is there. */
export function findInChain(
  node: ChainNode,
  record: ArtifactRecord,
  param: string | number | undefined,
): string[] | undefined {
  const labels: string[] = [];
  for (let n: ChainNode | undefined = node; n !== undefined; n = n.prev) {
    labels.push(labelOf(n.record.key, n.param));
    if (n.record === record && n.param === param) {
      labels.reverse();
      labels.push(labelOf(record.key, param));
      return labels;
    }
  }
  return undefined;
}

/** A path of in-flight builds from `from` that ends at `target`, if `from` is waiting on it. */
export function findWait(from: Slot, target: Slot, seen: Set<Slot> = new Set()): Slot[] | undefined {
  if (from === target) return [from];
  if (seen.has(from) || from.waitingOn === undefined) return undefined;
  seen.add(from);
  for (const next of from.waitingOn) {
    const rest = findWait(next, target, seen);
    if (rest !== undefined) return [from, ...rest];
  }
  return undefined;
}

/** `CIRCULAR_DEPENDENCY` naming the cycle, first label to last. */
export function circular(labels: string[]): SystemError {
  return new SystemError("CIRCULAR_DEPENDENCY", `circular dependency: ${labels.join(" → ")}`, {
    details: { cycle: labels },
  });
}
