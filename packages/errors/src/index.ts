export { catchRejection } from "./catch-rejection.js";
export { ErrorCode } from "./codes.js";
export { describeThrown, describeValue, quoteName } from "./describe-value.js";
export { isThenable } from "./is-thenable.js";
export { isPlainObject } from "./plain-object.js";
export { printFault } from "./print-fault.js";
export { type Err, err, type Ok, ok, type Result, type ResultMetadata } from "./result.js";
export { SystemError, type SystemErrorOptions } from "./system-error.js";
export { type KnownKeys, type RefuseUnknownKeysOptions, refuseUnknownKeys } from "./unknown-keys.js";
