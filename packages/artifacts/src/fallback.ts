import { SystemError } from "@sluice/errors";
import type { ArtifactContainer } from "./container.js";
import type { ArtifactRecord } from "./records.js";

// A container falls back to its parents (those it extends, or the one it is a scope of) for the
// keys it does not own; disposed parents are skipped.

/** The record `key` resolves to from `container`: its own, else the first found in its parents. */
export function lookup(container: ArtifactContainer<any>, key: string): ArtifactRecord | undefined {
  const own = container._records?.get(key);
  if (own !== undefined) return own;
  const parents = container._parents;
  if (parents === undefined) return undefined;
  for (const parent of parents) {
    if (parent._disposed) continue;
    const found = lookup(parent, key);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Whether `container` falls back to `target`, directly or through its parents. */
export function fallsBackTo(container: ArtifactContainer<any>, target: ArtifactContainer<any>): boolean {
  for (const parent of container._parents ?? []) {
    if (parent === target || fallsBackTo(parent, target)) return true;
  }
  return false;
}

/** `NOT_FOUND` for `key`, naming every container `operation` searched, in search order. */
export function notFound(container: ArtifactContainer<any>, key: string, operation: string): SystemError {
  const searched = searchedNames(container, []);
  return new SystemError(
    "NOT_FOUND",
    `${operation}: artifact "${key}" is not registered; searched containers ${searched.map((n) => `"${n}"`).join(" → ")}. Register it or extend() a container that has it`,
    { details: { key, searched } },
  );
}

function searchedNames(container: ArtifactContainer<any>, into: string[]): string[] {
  if (into.includes(container.name)) return into;
  into.push(container.name);
  for (const parent of container._parents ?? []) if (!parent._disposed) searchedNames(parent, into);
  return into;
}
