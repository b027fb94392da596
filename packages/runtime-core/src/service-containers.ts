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
  const eager: string[] = [];
  for (const service of services) {
    container.register({
      key: service.id,
      factory: service.factory,
      scope: "singleton",
      ...(service.timeoutMs !== undefined && { timeoutMs: service.timeoutMs }),
      ...(service.retries !== undefined && { retries: service.retries }),
    });
    if (service.lazy === false) eager.push(service.id);
  }
  buildEager(container, eager, onError);
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
  onError: (error: SystemError) => void,
): WorkflowServices {
  const scope = container.scope(`workflow:${workflow.id}`);
  const env: EnvService = createEnvService(workflow.env, globalEnv);
  scope.register({ key: ENV_SERVICE_ID, factory: () => env });
  const runTemplates: ArtifactTemplate[] = [];
  const eager: string[] = [];
  for (const service of workflow.services ?? []) {
    const template: ArtifactTemplate = {
      key: service.id,
      factory: service.factory,
      scope: service.scope === "transient" ? "transient" : "singleton",
      ...(service.timeoutMs !== undefined && { timeoutMs: service.timeoutMs }),
      ...(service.retries !== undefined && { retries: service.retries }),
    };
    if (service.scope === "run" || service.scope === "transient") runTemplates.push(template);
    else {
      scope.register(template, { override: true });
      if (service.lazy === false) eager.push(service.id);
    }
  }
  buildEager(scope, eager, onError);
  return { scope, runTemplates };
}

/**
 * Starts building the `lazy: false` services `ids` of `container`, once every service (the
 * reserved ones too) is registered there: registered eager, a service would start building at its
 * own registration, before `__env__` or a service listed after it existed, and fail `NOT_FOUND`.
 * Nobody awaits these builds, so a failure is reported; a later resolve builds again.
 */
function buildEager(
  container: Pick<ArtifactContainer, "resolve">,
  ids: readonly string[],
  onError: (error: SystemError) => void,
): void {
  for (const id of ids) {
    void container.resolve(id).then((result) => {
      if (!result.ok) onError(result.error);
    });
  }
}
