/**
 * A name or id that came from outside (a checkpoint, a step, a stored event), for a message:
 * JSON-quoted, so control characters and quotes are escaped, and cut at `max` characters with an
 * ellipsis, so a crafted 5 MB name does not make a 5 MB message.
 *
 * @example
 * ```ts
 * quoteName("approval"); // "\"approval\""
 * quoteName("x".repeat(100)).length; // 84: 80 characters, the ellipsis and the quotes
 * ```
 */
export function quoteName(name: string, max = 80): string {
  return JSON.stringify(name.length > max ? `${name.slice(0, max)}…` : name);
}
