// better-sqlite3 hands strings to SQLite as UTF-8, which (1) turns lone surrogates into U+FFFD, so
// two different ids could collide, and (2) compares by code point, while the timeline orders ids by
// UTF-16 code unit (as JavaScript does), which differs once a string holds characters above U+D7FF.
// These codecs keep every JavaScript string intact and leave ordinary strings untouched.

const AT_OR_ABOVE_SURROGATES = /[\uD800-\uFFFF]/;
const SHIFT = 0x800;

/**
 * Stores an id so that SQLite's byte order is JavaScript's code-unit order: each code unit from
 * U+D800 up becomes the code point 0x800 higher (U+E000..U+107FF), a well-formed and monotonic map.
 * Strings without such code units (most ids) are stored as they are.
 */
export function encodeOrderedText(text: string): string {
  if (!AT_OR_ABOVE_SURROGATES.test(text)) return text;
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    out += unit < 0xd800 ? text[i] : String.fromCodePoint(unit + SHIFT);
  }
  return out;
}

/** Reverses {@link encodeOrderedText}. */
export function decodeOrderedText(stored: string): string {
  if (!AT_OR_ABOVE_SURROGATES.test(stored)) return stored;
  let out = "";
  for (const char of stored) {
    const point = char.codePointAt(0)!;
    out += point < 0xe000 ? char : String.fromCharCode(point - SHIFT);
  }
  return out;
}

const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean })
  .isWellFormed;

/**
 * Stores a string SQLite can hold as text as it is; one with a lone surrogate becomes a BLOB of its
 * UTF-16 code units (SQLite columns keep the storage class they are given, and text never equals a
 * blob, so an equality match stays exact).
 */
export function encodeText(text: string): string | Buffer {
  return isWellFormed.call(text) ? text : Buffer.from(text, "utf16le");
}

/** Reverses {@link encodeText}. */
export function decodeText(stored: string | Buffer): string {
  return typeof stored === "string" ? stored : stored.toString("utf16le");
}
