/**
 * For `catchRejection` of a promise whose fault is reported otherwise: a trigger's `map` or a
 * wait's patch mapper that returned one is refused as not synchronous, and what it rejects with
 * later has nobody to go to.
 */
export function ignoreRejection(): void {}
