import type { SystemError } from "@sluice/errors";
import type { ArtifactContainer } from "./container.js";
import type { ArtifactRecord, Slot } from "./records.js";
import type { ArtifactDebugError, ArtifactDebugInfo, ArtifactStatus, ContainerDebugInfo } from "./types.js";

/** How far along a status is; a parameterised artifact shows the most advanced of its instances. */
const STATUS_RANK: Record<ArtifactStatus, number> = {
  ready: 5,
  building: 4,
  failed: 3,
  invalidated: 2,
  registered: 1,
  disposed: 0,
};

/**
 * The `debugInfo()` snapshot of `container`, listing `records`: those registered there, or after
 * disposal those it had.
 */
export function describeContainer(
  container: ArtifactContainer<any>,
  records: Map<string, ArtifactRecord> | undefined,
): ContainerDebugInfo {
  const artifacts: ArtifactDebugInfo[] = [];
  let retainedTransients = 0;
  if (records !== undefined) {
    for (const record of records.values()) {
      const artifact = describeArtifact(container, record);
      retainedTransients += artifact.retainedInstances;
      artifacts.push(artifact);
    }
  }
  return {
    name: container.name,
    disposed: container._disposed,
    parents: (container._parents ?? []).map((p) => p.name),
    artifacts,
    retainedTransients,
    storeSubscribed: container._unsubscribeStore !== undefined,
  };
}

function describeArtifact(container: ArtifactContainer<any>, record: ArtifactRecord): ArtifactDebugInfo {
  const instances = record.instances === undefined ? [] : [...record.instances.values()];
  const dependencies = new Set(edgeLabels(container, record.slot.dependencies));
  const dependents = new Set(edgeLabels(container, record.slot.dependents));
  let buildCount = record.slot.buildCount;
  let lastError = record.slot.lastError;
  for (const slot of instances) {
    for (const label of edgeLabels(container, slot.dependencies)) dependencies.add(label);
    for (const label of edgeLabels(container, slot.dependents)) dependents.add(label);
    buildCount += slot.buildCount;
    lastError = slot.lastError ?? lastError;
  }
  return {
    key: record.key,
    scope: record.scope,
    lazy: record.lazy,
    parameterised: record.parameterised,
    status: record.parameterised ? summarise(instances) : record.slot.status,
    dependencies: [...dependencies],
    dependents: [...dependents],
    buildCount,
    lastError: debugError(lastError),
    retainedInstances: record.retained?.size ?? 0,
    instances: instances.map((slot) => ({
      param: slot.param as string | number,
      status: slot.status,
      buildCount: slot.buildCount,
      dependencies: edgeLabels(container, slot.dependencies),
      dependents: edgeLabels(container, slot.dependents),
      lastError: debugError(slot.lastError),
    })),
    watchers: record.watchers?.size ?? 0,
  };
}

/** Labels of the slots at the other end of some edges, with `@container` when owned elsewhere. */
function edgeLabels(container: ArtifactContainer<any>, slots: Set<Slot> | undefined): string[] {
  if (slots === undefined) return [];
  const labels: string[] = [];
  for (const slot of slots) {
    const owner = slot.record.owner;
    labels.push(owner === container ? slot.label : `${slot.label}@${owner.name}`);
  }
  return labels;
}

function debugError(error: SystemError | undefined): ArtifactDebugError | undefined {
  return error === undefined ? undefined : { code: error.code, message: error.message };
}

function summarise(slots: Slot[]): ArtifactStatus {
  let best: ArtifactStatus = "registered";
  for (const slot of slots) if (STATUS_RANK[slot.status] > STATUS_RANK[best]) best = slot.status;
  return best;
}
