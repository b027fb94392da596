import { describeThrown, isPlainObject, SystemError } from "@sluice/errors";
import type { RegisterOptions, Workflow } from "./types.js";
import { validateRegisterOptions, validateWorkflowShape } from "./validate-workflow.js";

/** A workflow definition and its register options as `register()` read them: the runtime's own copy. */
export interface DefinitionRead {
  readonly workflow: Workflow<any>;
  readonly options: RegisterOptions<any>;
}

/** Reads a field of a copied object (`key`, the value read, its path) into the copy's value. */
type ReadField = (key: string, field: unknown, path: string) => unknown;

const keep: ReadField = (_key, field) => field;

function unreadable(path: string, thrown: unknown, what = `${path} could not be read`): SystemError {
  return new SystemError("INVALID_DEFINITION", `${what}: ${describeThrown(thrown)}`, {
    cause: thrown,
    details: { path },
  });
}

/**
 * `value` itself when it is not a plain object (validation refuses it, or it is kept as the host
 * gave it); otherwise a new, frozen plain object with `value`'s own properties (enumerable ones
 * staying enumerable), each read once and passed through `readField`.
 */
function readObject(value: unknown, path: string, readField: ReadField = keep): unknown {
  let keys: string[];
  try {
    if (!isPlainObject(value)) return value;
    keys = Object.getOwnPropertyNames(value);
  } catch (error) {
    throw unreadable(path, error);
  }
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    const at = `${path}.${key}`;
    let enumerable: boolean | undefined;
    let field: unknown;
    try {
      enumerable = Object.getOwnPropertyDescriptor(value, key)?.enumerable;
      // gone since it was listed (a Proxy may say so): as if it had not been there
      if (enumerable === undefined) continue;
      field = value[key];
    } catch (error) {
      throw unreadable(at, error);
    }
    // defined, not assigned: a `__proto__` key stays an own key, as in the host's object
    Object.defineProperty(copy, key, {
      value: readField(key, field, at),
      enumerable,
      writable: true,
      configurable: true,
    });
  }
  return Object.freeze(copy);
}

/**
 * `value` itself when it is not an array; otherwise a new, frozen one of the same length, each
 * element read once and passed through `readElement`. It stops after an element that is not an
 * object (a hole reads as `undefined`): the checks refuse every array of the definition at its
 * first such element and read nothing after it, and an array of 2 ** 32 - 1 holes is read at once.
 */
function readArray(value: unknown, path: string, readElement: (element: unknown, path: string) => unknown) {
  let length: number;
  try {
    if (!Array.isArray(value)) return value;
    length = value.length;
  } catch (error) {
    throw unreadable(path, error);
  }
  const copy: unknown[] = new Array(length);
  for (let i = 0; i < length; i++) {
    const at = `${path}[${i}]`;
    let element: unknown;
    try {
      element = value[i];
    } catch (error) {
      throw unreadable(at, error);
    }
    copy[i] = readElement(element, at);
    if (typeof element !== "object" || element === null) break;
  }
  return Object.freeze(copy);
}

const readPlain = (value: unknown, path: string) => readObject(value, path);

function readEnv(env: unknown): unknown {
  try {
    return readObject(env, "env");
  } catch (error) {
    // the message a layer that throws always had (see validateEnvLayer), naming the thrown error
    const thrown = SystemError.is(error) ? error.cause : error;
    throw unreadable("env", thrown, "env: the env layer could not be read");
  }
}

function readTrigger(trigger: unknown, path: string): unknown {
  return readObject(trigger, path, (key, field, at) =>
    key === "when"
      ? readArray(field, at, readPlain)
      : key === "rateLimit" || key === "debounce" || key === "throttle" || key === "batch"
        ? readObject(field, at)
        : key === "cancelOn"
          ? readArray(field, at, readCancelOn)
          : field,
  );
}

/** One rule of a trigger's `cancelOn`, its `when` conditions copied as a trigger's are. */
function readCancelOn(rule: unknown, path: string): unknown {
  return readObject(rule, path, (key, field, at) =>
    key === "when" ? readArray(field, at, readPlain) : field,
  );
}

function readWorkflow(workflow: unknown): unknown {
  // paths as the checks name them: `triggers.placed`, not `workflow.triggers.placed`
  return readObject(workflow, "workflow", (key, field) => {
    switch (key) {
      case "env":
        return readEnv(field);
      case "services":
        return readArray(field, "services", readPlain);
      case "triggers":
        return readObject(field, "triggers", (_id, trigger, at) => readTrigger(trigger, at));
      case "pipelines":
        // each definition as given: `new Pipeline()` reads it once itself, into a copy it checks
        return readObject(field, "pipelines");
      case "patches":
        return readObject(field, "patches");
      default:
        return field;
    }
  });
}

function readOptions(options: unknown): unknown {
  return readObject(options, "options", (key, field, at) =>
    key === "mode" || key === "retention" ? readObject(field, at) : field,
  );
}

/**
 * The one read of a host's workflow definition and register options: everything `register()` uses
 * (the workflow's fields, its triggers and their conditions, the pipelines by id, services, env and
 * patch mappers; the options, their mode, retention and hooks) is copied into new, frozen plain
 * objects and arrays, each property read once (functions are kept, not copied), and the copy is
 * then checked. Each pipeline's definition is handed to `new Pipeline()` as given, which reads it
 * once into a copy of its own (its stages, steps and retries) and checks that. The runtime uses only the copy: a getter or Proxy
 * cannot pass the checks with one value and be used with another, and the host changing its
 * objects after `register()` changes nothing. A part that is not a plain object or array is kept
 * as given, not copied: the checks refuse it, except where they take any object (a class instance
 * as a condition), which is then read as before.
 *
 * @throws SystemError `INVALID_DEFINITION` (or `DUPLICATE_KEY` for a service id) as the checks
 * do; `INVALID_DEFINITION` naming the place for a part whose reading throws, the thrown error as
 * `cause`.
 */
export function readDefinition(workflow: unknown, options: unknown): DefinitionRead {
  const workflowCopy = readWorkflow(workflow);
  validateWorkflowShape(workflowCopy);
  const optionsCopy = readOptions(options);
  validateRegisterOptions(optionsCopy);
  return { workflow: workflowCopy, options: optionsCopy ?? {} };
}
