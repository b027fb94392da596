const OBJECT_PROTOTYPE = Object.prototype;

/**
 * @internal True for a plain object: prototype `Object.prototype` (of any realm) or `null`. A state
 * patch must be one: a `Map`, a `Date` or a class instance has no own fields to merge, or fields a
 * shallow merge would tear from their methods.
 */
export function isPlainObject(value: unknown): value is object {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === OBJECT_PROTOTYPE) return true;
  // Object.prototype of any realm (its own prototype is null), or a null-prototype object.
  return proto === null || Object.getPrototypeOf(proto) === null;
}
