/** A string field's index in a row of {@link TextRows}. */
export const RUN_ID = 0;
export const WORKFLOW_ID = 1;
export const SOURCE = 2;
export const TYPE = 3;
export const STAGE = 4;
export const STEP = 5;
export const MESSAGE = 6;
/** Not a field of the event: its id, once a query has decoded it (`undefined` until then). */
export const ID = 7;
/** Entries in a row. */
export const FIELDS = 8;

/** log2 of the rows in a chunk. */
export const CHUNK_SHIFT = 12;
/** `position & ROW_MASK` is a position's row in its chunk. */
export const ROW_MASK = (1 << CHUNK_SHIFT) - 1;

/**
 * The string fields of the log's events (`runId`, `workflowId`, `source`, `type`, `stage`, `step`,
 * `message`, and the id once decoded), a row of {@link FIELDS} entries per position, in chunks of
 * 4096 rows: the chunk of `position` is `chunks[(position >>> CHUNK_SHIFT) & mask]`, its row at
 * `(position & ROW_MASK) * FIELDS`.
 *
 * Why chunks: the store's other columns are typed arrays, which grow by a native memory copy, but
 * an array of strings grows into a fresh array that must be initialized and filled (about 6 ns an
 * entry): with one array per field, growing from empty toward a million events spent as long
 * doubling them as appending. Chunks never move; growing only lays the chunk pointers out in a
 * larger table. Why rows: an append writes an event's fields next to each other (one cache line)
 * instead of into eight arrays. Why 4096 rows: a chunk of 256 KiB is larger than V8's largest
 * young object, so it is allocated in the old generation at once; chunks of 1024 rows were copied
 * by the scavenger (10–15 ms of a 400k-event append, against 2–3 ms).
 */
export class TextRows {
  /** Chunks by `(position >>> CHUNK_SHIFT) & mask`; a slot is empty until a position needs it. */
  chunks: Array<Array<string | undefined> | undefined>;
  mask: number;

  /** @param capacity - the log's capacity (a power of two, at least 1024) */
  constructor(capacity: number) {
    const slots = slotsFor(capacity);
    this.chunks = new Array(slots);
    this.mask = slots - 1;
  }

  /** The `field` of the event at `position`. */
  get(position: number, field: number): string | undefined {
    return this.chunks[(position >>> CHUNK_SHIFT) & this.mask]![(position & ROW_MASK) * FIELDS + field];
  }

  /**
   * Writes the row of a new event at `position` (its chunk reserved): its string fields, and no
   * decoded id yet. The one place both of the writer's paths lay a row out.
   */
  write(
    position: number,
    runId: string,
    workflowId: string,
    source: string,
    type: string,
    stage: string | undefined,
    step: string | undefined,
    message: string | undefined,
  ): void {
    const chunk = this.chunks[(position >>> CHUNK_SHIFT) & this.mask]!;
    const row = (position & ROW_MASK) * FIELDS;
    chunk[row + RUN_ID] = runId;
    chunk[row + WORKFLOW_ID] = workflowId;
    chunk[row + SOURCE] = source;
    chunk[row + TYPE] = type;
    chunk[row + STAGE] = stage;
    chunk[row + STEP] = step;
    chunk[row + MESSAGE] = message;
    chunk[row + ID] = undefined;
  }

  /**
   * Makes sure positions `from` to `to` have chunks; `head` to `to` (the live positions and those
   * about to be written) must fit the log's capacity. Chunks whose positions were all evicted are
   * reused (their rows are overwritten before they are read).
   */
  reserve(from: number, to: number): void {
    const chunks = this.chunks;
    for (let k = from >>> CHUNK_SHIFT; k <= (to - 1) >>> CHUNK_SHIFT; k++) {
      const slot = k & this.mask;
      if (chunks[slot] === undefined) chunks[slot] = new Array((ROW_MASK + 1) * FIELDS);
    }
  }

  /**
   * Lays the chunks of positions `head` to `tail` out for a log of `capacity` (larger than before).
   * The table has two slots per chunk the log can fill, so the chunks of `head` to `tail` plus a
   * batch never share a slot, even when `head` is in the middle of a chunk.
   */
  grow(head: number, tail: number, capacity: number): void {
    const slots = slotsFor(capacity);
    const chunks: Array<Array<string | undefined> | undefined> = new Array(slots);
    if (tail > head) {
      for (let k = head >>> CHUNK_SHIFT; k <= (tail - 1) >>> CHUNK_SHIFT; k++) {
        chunks[k & (slots - 1)] = this.chunks[k & this.mask];
      }
    }
    this.chunks = chunks;
    this.mask = slots - 1;
  }
}

function slotsFor(capacity: number): number {
  return 2 * Math.max(1, capacity >>> CHUNK_SHIFT);
}
