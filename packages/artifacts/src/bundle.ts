import { SystemError } from "@sluice/errors";
import type { ArtifactContainer } from "./container.js";
import { report } from "./errors.js";
import { labelOf } from "./records.js";
import { settle } from "./resolution.js";
import type { ArtifactBundle, ArtifactBundleEntry } from "./types.js";
import { isKey, isParam } from "./validate.js";

// A bundle carries the built singletons whose template opted in to `serialize`, as plain data: it
// is written by `export()` and read back, from untrusted storage, by `ArtifactContainer.from()`.

/** The bundle of `container`'s built serialisable singletons; `INVALID_STATE` if one fails to serialise. */
export function writeBundle(container: ArtifactContainer<any>): ArtifactBundle {
  const artifacts: ArtifactBundleEntry[] = [];
  if (container._records !== undefined) {
    for (const record of container._records.values()) {
      const serializer = record.serializer;
      if (serializer === undefined) continue;
      for (const slot of record.slots()) {
        if (slot.settled === undefined) continue;
        let data: unknown;
        try {
          data = serializer.serialize(slot.value);
        } catch (error) {
          throw SystemError.from(
            error,
            "INVALID_STATE",
            `export: serializing artifact "${slot.label}" failed`,
          );
        }
        artifacts.push(
          slot.param === undefined ? { key: record.key, data } : { key: record.key, param: slot.param, data },
        );
      }
    }
  }
  return { format: "sluice.artifacts", version: 1, container: container.name, artifacts };
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
    if (!isKey(key)) {
      throw invalid(`bundle.artifacts[${i}].key must be a non-empty string`);
    }
    const param = own(entry, "param");
    const data = own(entry, "data");
    if (param === undefined) return { key, data };
    if (!isParam(param)) {
      throw invalid(`bundle.artifacts[${i}].param must be a string or a finite number`);
    }
    return { key, param, data };
  });
}

/**
 * Restores one bundle entry into `container` as a built instance (its factory does not run). An
 * entry no registered serialisable singleton matches is skipped; one that fails to deserialise is
 * reported to `onError` and skipped.
 */
export function restoreEntry(container: ArtifactContainer<any>, entry: ArtifactBundleEntry): void {
  const record = container._records?.get(entry.key);
  if (record === undefined || record.serializer === undefined || record.scope !== "singleton") return;
  if (!record.fits(entry.param)) return;
  let value: unknown;
  try {
    value = record.serializer.deserialize(entry.data);
  } catch (error) {
    report(
      container._onError,
      SystemError.from(
        error,
        "INVALID_INPUT",
        `from: restoring artifact "${labelOf(entry.key, entry.param)}" failed`,
      ),
    );
    return;
  }
  settle(record.slotFor(entry.param), value, undefined, false);
}

function own(record: object, key: string): unknown {
  return Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}

function invalid(message: string): SystemError {
  return new SystemError("INVALID_INPUT", `from: ${message}`);
}
