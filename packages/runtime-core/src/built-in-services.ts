import type { EnvService } from "@sluice/env";
import type { PauseService } from "@sluice/pause";

/**
 * The services every run can resolve without declaring them, by their reserved ids. Declared as
 * known services of a step's, a hook's and a service factory's `use`, so that
 * `await ctx.use((d) => d.require("__env__"))` is an `EnvService` without a type argument, as the
 * seed README writes it. A host types its own services by id the same way, by declaring them in
 * this interface: `declare module "@sluice/runtime-core" { interface BuiltInServices { config: Config } }`
 * (docs/services-and-scopes.md, "Typing your own services").
 */
export interface BuiltInServices {
  /** The run's layered env (the workflow's `env`, then the runtime's). */
  __env__: EnvService;
  /**
   * The run's own pause service (`register` waits, `cancel` them). A step's acts for its attempt:
   * the waits of an attempt that fails are withdrawn, and once the attempt is over it registers
   * nothing (`INVALID_STATE`). It has every method of `PauseService` but is not an instance of the
   * class (`instanceof PauseService` is false): test for the methods, not the class.
   */
  __pause_service__: PauseService;
}

declare module "@sluice/pipeline" {
  interface KnownServices extends BuiltInServices {}
}

declare module "@sluice/artifacts" {
  interface KnownServices extends BuiltInServices {}
}
