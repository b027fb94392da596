import { SystemError } from "@sluice/errors";
import type { ArtifactBundleEntry } from "./types.js";

function own(record: object, key: string): unknown {
  return Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}

function invalid(message: string): SystemError {
  return new SystemError("INVALID_INPUT", `from: ${message}`);
}

/**
 * Reads an untrusted bundle (it may come from storage): only own properties are read and the
 * entries are copied into fresh objects, so nothing in it can reach a prototype.
 */
export function readBundle(bundle: unknown): ArtifactBundleEntry[] {
  if (typeof bundle !== "object" || bundle === null || Array.isArray(bundle)) {
    throw invalid("bundle must be an object produced by container.export()");
  }
  if (own(bundle, "format") !== "sluice.artifacts" || own(bundle, "version") !== 1) {
    throw invalid(
      'bundle must have format "sluice.artifacts" and version 1 (produced by container.export())',
    );
  }
  const artifacts = own(bundle, "artifacts");
  if (!Array.isArray(artifacts)) throw invalid("bundle.artifacts must be an array");
  return artifacts.map((entry: unknown, i): ArtifactBundleEntry => {
    if (typeof entry !== "object" || entry === null)
      throw invalid(`bundle.artifacts[${i}] must be an object`);
    const key = own(entry, "key");
    if (typeof key !== "string" || key.length === 0) {
      throw invalid(`bundle.artifacts[${i}].key must be a non-empty string`);
    }
    const param = own(entry, "param");
    const data = own(entry, "data");
    if (param === undefined) return { key, data };
    if (typeof param !== "string" && !(typeof param === "number" && Number.isFinite(param))) {
      throw invalid(`bundle.artifacts[${i}].param must be a string or a finite number`);
    }
    return { key, param, data };
  });
}
