import { describeKind, SystemError } from "@sluice/errors";

/**
 * Read-only access to environment variables, resolved through ordered layers
 * (the workflow's layer, then the global layer). Only `get` exists: `env.KEY` is `undefined`.
 */
export interface EnvService {
  /**
   * The value of `key` from the first layer that defines it, or `undefined`. Only a layer's own keys
   * count, so `get("constructor")` or `get("__proto__")` is `undefined` unless a layer sets it.
   *
   * @throws SystemError `INVALID_INPUT` when `key` is not a string.
   */
  get(key: string): string | undefined;
}

/** One layer of variables. A key whose value is `undefined` is treated as not set in that layer. */
export type EnvLayer = Readonly<Record<string, string | undefined>>;

/**
 * Builds an {@link EnvService} from `layers`, first layer wins (pass the workflow layer, then the
 * global layer). `undefined` (and `null`) layers are skipped.
 *
 * The layers are **snapshotted at creation**: their own enumerable string keys are copied, so changing
 * a source object (or `process.env`) later does not change the service. Create one service per
 * workflow registration, not per lookup. The returned object is frozen and has only `get`.
 *
 * @throws SystemError `INVALID_INPUT` when a layer is not an object, or a value is neither a string
 * nor `undefined` (the message names the layer index and the key).
 * @example
 * ```ts
 * const env = createEnvService({ REGION: "eu" }, defaultGlobalEnv());
 * env.get("REGION"); // "eu", even if process.env.REGION is set
 * ```
 */
export function createEnvService(...layers: Array<EnvLayer | undefined>): EnvService {
  const values = new Map<string, string>();
  for (let index = 0; index < layers.length; index++) {
    const layer: unknown = layers[index];
    if (layer === undefined || layer === null) continue;
    if (typeof layer !== "object" || Array.isArray(layer)) {
      throw new SystemError(
        "INVALID_INPUT",
        `createEnvService: layer ${index} must be an object of string values (got ${typeOnly(layer)})`,
      );
    }
    const record = layer as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const value = record[key];
      if (value === undefined) continue;
      if (typeof value !== "string") {
        throw new SystemError(
          "INVALID_INPUT",
          `createEnvService: layer ${index}, "${key}" must be a string or undefined (got ${typeOnly(value)}); ` +
            `convert it, e.g. String(value)`,
          { details: { layer: index, key } },
        );
      }
      // Earlier layers win: keep the first value seen.
      if (!values.has(key)) values.set(key, value);
    }
  }
  return Object.freeze({
    get(key: string): string | undefined {
      if (typeof key !== "string") {
        throw new SystemError(
          "INVALID_INPUT",
          `env.get: the key must be a string (got ${describeKind(key)})`,
        );
      }
      return values.get(key);
    },
  });
}

/**
 * The default global layer: `process.env` where a `process` global exists (Node, Bun, Deno's
 * compatibility layer), otherwise an empty layer (browsers).
 */
export function defaultGlobalEnv(): EnvLayer {
  const proc = (globalThis as { process?: { env?: unknown } }).process;
  const env = proc?.env;
  return typeof env === "object" && env !== null ? (env as EnvLayer) : {};
}

/**
 * A layer's or a value's type, never the value itself (unlike `describeKind`): a layer passed as
 * text (`"API_KEY=…"`) or a value that is not a string may be a secret, which the message would
 * carry into a log.
 */
function typeOnly(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
