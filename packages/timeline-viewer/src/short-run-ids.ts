const SEPARATORS = ["-", ":", "_", ".", "/", "#"];

// UTF-16 code units a short id shows of a run id's distinguishing part, and of its start when
// that is shown too.
const SHORT_LENGTH = 8;
const HEAD_LENGTH = 4;

/**
 * A short id for each of `runIds` (unique ids), for labels and pickers, that tells the runs apart:
 *
 * - the id's first 8 characters (`8c2f41d0` for a UUID), or, when every run's id starts with the
 *   same `<prefix><separator>` (a runtime numbers its runs `<random prefix>-<counter>`), up to 8
 *   characters of what follows it, after `…` and the separator (`…-1f`);
 * - for runs whose short ids would be equal (the runs of two runtimes on one timeline, each with
 *   its own random prefix: every run of one showed as the same 8 characters), the id's first 4
 *   characters, `…`, and up to 8 from where it starts to differ from the others (back to a
 *   separator within reach: `8x59…-1`, `cihk…-1`);
 * - failing that, the whole id.
 */
export function shortRunIds(runIds: readonly string[]): Map<string, string> {
  const prefix = sharedRunIdPrefix(runIds);
  const shorts = new Map<string, string>();
  for (const runId of runIds) shorts.set(runId, shortRunId(runId, prefix));
  for (const group of sharing(shorts)) {
    group.sort();
    for (let i = 0; i < group.length; i++) {
      const runId = group[i]!;
      const common = Math.max(
        i > 0 ? commonPrefixLength(runId, group[i - 1]!) : 0,
        i + 1 < group.length ? commonPrefixLength(runId, group[i + 1]!) : 0,
      );
      shorts.set(runId, distinguishingId(runId, common));
    }
  }
  // Whole ids are unique: what is still shared becomes one, until nothing is.
  for (let groups = sharing(shorts); groups.length > 0; groups = sharing(shorts)) {
    for (const group of groups) for (const runId of group) shorts.set(runId, runId);
  }
  return shorts;
}

/** The run ids whose short ids are equal, in groups of two or more. */
function sharing(shorts: ReadonlyMap<string, string>): string[][] {
  const byShort = new Map<string, string[]>();
  for (const [runId, short] of shorts) {
    const group = byShort.get(short);
    if (group === undefined) byShort.set(short, [runId]);
    else group.push(runId);
  }
  return [...byShort.values()].filter((group) => group.length > 1);
}

/**
 * The part of the run ids every run shares, up to and including a separator: runtimes that number
 * runs as `<random prefix>-<counter>` give every run the same first characters.
 */
function sharedRunIdPrefix(runIds: readonly string[]): string {
  if (runIds.length < 2) return "";
  let prefix = runIds[0]!;
  for (const id of runIds) {
    prefix = prefix.slice(0, commonPrefixLength(prefix, id));
    if (prefix === "") return "";
  }
  const cut = Math.max(...SEPARATORS.map((sep) => prefix.lastIndexOf(sep)));
  return cut < 0 ? "" : prefix.slice(0, cut + 1);
}

/** The first 8 characters of what tells this run apart (`…-2a` when all runs share a prefix). */
function shortRunId(runId: string, sharedPrefix: string): string {
  if (sharedPrefix !== "" && runId.length > sharedPrefix.length) {
    return `…${sharedPrefix.slice(-1)}${headOf(runId, sharedPrefix.length, SHORT_LENGTH)}`;
  }
  return headOf(runId, 0, SHORT_LENGTH);
}

/**
 * `runId` as its start, `…`, and up to 8 code units from where it differs from another run's id
 * (`common` code units are shared), from the last separator before that when the difference is
 * still in view from there (`8x59…-1`). An id that ends where the other goes on is shown whole.
 */
function distinguishingId(runId: string, common: number): string {
  let separator = -1;
  for (const sep of SEPARATORS) {
    if (common > 0) separator = Math.max(separator, runId.lastIndexOf(sep, common - 1));
  }
  let cut = separator >= 0 && common - separator < SHORT_LENGTH ? separator : common;
  // never between the halves of a surrogate pair
  if (cut > 0 && isLowSurrogate(runId.charCodeAt(cut))) cut--;
  if (cut >= runId.length) return runId;
  if (cut <= HEAD_LENGTH) return headOf(runId, 0, cut + SHORT_LENGTH);
  return `${headOf(runId, 0, HEAD_LENGTH)}…${headOf(runId, cut, SHORT_LENGTH)}`;
}

function commonPrefixLength(a: string, b: string): number {
  const max = Math.min(a.length, b.length);
  let n = 0;
  while (n < max && a.charCodeAt(n) === b.charCodeAt(n)) n++;
  return n;
}

/**
 * Up to `max` UTF-16 code units of `text` from `start`, one fewer when the cut would fall inside a
 * surrogate pair (an emoji, say): half a pair would show as a replacement character.
 */
function headOf(text: string, start: number, max: number): string {
  let end = Math.min(text.length, start + max);
  if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
