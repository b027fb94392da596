/**
 * The name of the class `value` was made by, for a message (`Date`, `Map`, `Int32Array`), or `""`
 * when there is none to tell: a plain object, one made by `Object.create(proto)` (which inherits
 * `Object` as its constructor through `proto`), a constructor without a name, a Proxy whose
 * prototype cannot be read. Never throws.
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

/**
 * `name` (a class name from {@link classNameOf}) with the article a message puts before it:
 * `an Int32Array`, `an Error`, `a Map`, `a Uint8Array`. One rule for every message the package
 * writes, so a query filter and an appended event that are the same kind of wrong object read the same.
 */
export function withArticle(name: string): string {
  return `${startsWithVowelSound(name) ? "an" : "a"} ${name}`;
}

// By the sound, not the letter: a "U" read as "you" (`Uint8Array`, `URIError`, `User`) takes "a".
function startsWithVowelSound(name: string): boolean {
  if (/^[aeio]/i.test(name)) return true;
  return /^[Uu]/.test(name) && !/^[Uu](?:[A-Z]|ni|int|s|r[aeiou])/.test(name);
}
