const EMPTY = 0;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the id's UTF-16 code units. */
function hashRunId(runId: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < runId.length; i++) h = Math.imul(h ^ runId.charCodeAt(i), FNV_PRIME);
  return h;
}

/**
 * @internal Finds the ring slot of a finished run by its id: an open-addressing hash table in a
 * typed array, so adding a run allocates nothing and gives the GC nothing to trace. (A `Map` of
 * the thousand finished runs a registry keeps by default, with an insert and a delete per run,
 * rebuilt its backing table every thousand runs and kept it and the ids alive through
 * young-generation GCs: about a quarter of a short run's cost.)
 *
 * Entries hold `slot + 1` and are never removed: `find` checks the id now in the slot, so the
 * entry of a run that has left (its slot empty or reused) never matches. Its owner rebuilds the
 * index once {@link RunIdIndex.crowded} says entries fill half the table.
 */
export class RunIdIndex {
  private readonly table: Int32Array;
  private readonly mask: number;
  private used = 0;

  /** An empty index for a ring of `slots` slots (a power of two). */
  constructor(slots: number) {
    // Four entries per slot: a rebuild every two ring-fulls of runs, probes short until then.
    this.table = new Int32Array(slots * 4);
    this.mask = this.table.length - 1;
  }

  /** True when entries fill half the table: time to rebuild it from the runs still held. */
  get crowded(): boolean {
    return this.used * 2 >= this.table.length;
  }

  /** Adds the run in `slot`, whose id is `runId`. */
  add(slot: number, runId: string): void {
    const table = this.table;
    let place = hashRunId(runId) & this.mask;
    while (table[place] !== EMPTY) place = (place + 1) & this.mask;
    table[place] = slot + 1;
    this.used++;
  }

  /** The slot of the run `runId`, reading the ids held by slot from `runIds`, or -1. */
  find(runId: string, runIds: ReadonlyArray<string | undefined>): number {
    const table = this.table;
    let place = hashRunId(runId) & this.mask;
    for (let entry = table[place]!; entry !== EMPTY; entry = table[place]!) {
      if (runIds[entry - 1] === runId) return entry - 1;
      place = (place + 1) & this.mask;
    }
    return -1;
  }
}
