/**
 * The name of the class `value` was made by, for a message (`Date`, `Map`, `Int32Array`), or `""`
 * when there is none to tell: a plain object (also one from another realm), one made by
 * `Object.create(proto)` (which inherits `Object` as its constructor through `proto`), a
 * constructor without a name, a Proxy whose prototype cannot be read. The constructor is read from
 * the prototype, not from `value`, so an own `constructor` key (`{ constructor: { name: "Map" } }`)
 * does not pass for a class. Never throws.
 *
 * @example
 * ```ts
 * classNameOf(new Map()); // "Map"
 * classNameOf({}); // ""
 * ```
 */
export function classNameOf(value: object): string {
  try {
    const ctor: unknown = Object.getPrototypeOf(value)?.constructor;
    const name = typeof ctor === "function" && typeof ctor.name === "string" ? ctor.name : "";
    return name === "Object" ? "" : name;
  } catch {
    // a hostile Proxy: nothing to tell
    return "";
  }
}
