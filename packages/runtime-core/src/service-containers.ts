import { ArtifactContainer, type ArtifactTemplate, type ScopedContainer } from "@sluice/artifacts";
import { createEnvService, type EnvService } from "@sluice/env";
import { SystemError } from "@sluice/errors";
import { PauseService, type PauseSink } from "@sluice/pause";
import type { ServiceDefinition, Workflow } from "./types.js";

/** The reserved id of each run's pause service. */
export const PAUSE_SERVICE_ID = "__pause_service__";
/** The reserved id of the env service (the workflow's layer over the global one). */
export const ENV_SERVICE_ID = "__env__";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The runtime's container: the host's global services as singletons, plus the fallbacks the seed
 * describes for the reserved ids: a pause service that explains it must be used from a step, and
 * an env service with the global layer only.
 */
export function createGlobalContainer(
  services: readonly ServiceDefinition[],
  globalEnv: Env,
  onError: (error: SystemError) => void,
): ArtifactContainer {
  const container = new ArtifactContainer({ name: "global", onError });
  for (const service of services) {
    container.register({
      key: service.id,
      factory: service.factory,
      scope: "singleton",
      ...(service.lazy === false && { lazy: false }),
      ...(service.timeoutMs !== undefined && { timeoutMs: service.timeoutMs }),
      ...(service.retries !== undefined && { retries: service.retries }),
    });
  }
  const unboundSink: PauseSink = {
    requestPause() {
      throw new SystemError(
        "INVALID_STATE",
        "__pause_service__ was resolved outside a run: resolve it inside a step with ctx.use((d) => d.require('__pause_service__'))",
      );
    },
    withdrawPause() {},
  };
  container.register({ key: PAUSE_SERVICE_ID, factory: () => new PauseService(unboundSink) });
  const globalEnvService = createEnvService(globalEnv);
  container.register({ key: ENV_SERVICE_ID, factory: () => globalEnvService });
  return container;
}

/** A workflow's services: its scoped child container, and the templates each run container gets. */
export interface WorkflowServices {
  /** Workflow-scoped services and the workflow's env layer; disposed on deregister. */
  readonly scope: ScopedContainer;
  /** Run- and transient-scoped services, registered on each run's own container. */
  readonly runTemplates: readonly ArtifactTemplate[];
}

/** Builds `workflow`'s service scope under the runtime's container, its env over `globalEnv`. */
export function createWorkflowServices(
  container: ArtifactContainer,
  workflow: Workflow<any>,
  globalEnv: Env,
): WorkflowServices {
  const scope = container.scope(`workflow:${workflow.id}`);
  const env: EnvService = createEnvService(workflow.env, globalEnv);
  scope.register({ key: ENV_SERVICE_ID, factory: () => env });
  const runTemplates: ArtifactTemplate[] = [];
  for (const service of workflow.services ?? []) {
    const template: ArtifactTemplate = {
      key: service.id,
      factory: service.factory,
      scope: service.scope === "transient" ? "transient" : "singleton",
      ...(service.lazy === false &&
        service.scope !== "run" &&
        service.scope !== "transient" && { lazy: false }),
      ...(service.timeoutMs !== undefined && { timeoutMs: service.timeoutMs }),
      ...(service.retries !== undefined && { retries: service.retries }),
    };
    if (service.scope === "run" || service.scope === "transient") runTemplates.push(template);
    else scope.register(template, { override: true });
  }
  return { scope, runTemplates };
}
