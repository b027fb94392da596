/**
 * True when `value` is a plain object: made by an object literal, `Object.create(null)` or
 * `JSON.parse` (also from another realm, such as a `node:vm` context or an iframe). Arrays, class
 * instances, dates and maps are not, nor is an object whose prototype merely has a null prototype
 * (`Object.create(Object.create(null))`): its prototype's keys would be inherited.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  // The rare third case lives in its own function, so this one stays small enough to inline into
  // every `set`.
  return proto === Object.prototype || proto === null || isForeignObjectPrototype(proto);
}

/**
 * True when `proto` is `Object.prototype` of another realm: its own prototype is null, its own
 * `constructor` is a function named "Object" whose `prototype` is `proto`, it has its own
 * `hasOwnProperty`, and it has no enumerable keys. A look-alike that carries enumerable keys
 * (which `for...in` over an object inheriting from it would visit) is refused, and so is one that
 * throws when read.
 */
function isForeignObjectPrototype(proto: object): boolean {
  try {
    if (Object.getPrototypeOf(proto) !== null) return false;
    const ctor: unknown = Object.getOwnPropertyDescriptor(proto, "constructor")?.value;
    if (typeof ctor !== "function" || ctor.name !== "Object" || ctor.prototype !== proto) return false;
    if (typeof Object.getOwnPropertyDescriptor(proto, "hasOwnProperty")?.value !== "function") return false;
    // for...in over proto visits exactly its own enumerable string keys (its prototype is null)
    for (const _ in proto) return false;
    return true;
  } catch {
    return false;
  }
}
