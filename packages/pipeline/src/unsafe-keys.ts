/**
 * @internal True for `__proto__`, `constructor` and `prototype`: keys that could reach an object's
 * prototype when assigned, so they are never copied from untrusted input (patches, restored
 * checkpoints, registry updates).
 */
export function isUnsafeKey(key: string): boolean {
  return key === "__proto__" || key === "constructor" || key === "prototype";
}
