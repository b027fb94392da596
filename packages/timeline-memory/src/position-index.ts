/**
 * The log positions of one run's (or workflow's, or the whole store's) events, kept in insertion
 * order and sorted lazily: appending is a push plus one comparison with the last position, and the
 * positions are sorted into (`at`, `seq`, `id`) order only when a query or delete reads the index
 * while `sorted` is false. Runtimes append each run's events in order, so a run's index is nearly
 * always sorted already. Positions of evicted or deleted events stay until the index is read or
 * they outnumber the live ones, so eviction is a counter decrement.
 */
export class PositionIndex {
  positions: number[] = [];
  /** Positions before `start` are all dead. */
  start = 0;
  /** Live events in this index. */
  live = 0;
  /** True when the live positions, in array order, are in (`at`, `seq`, `id`) order. */
  sorted = true;

  /** @param key - the run or workflow id (the map key), or "" for the whole store */
  constructor(readonly key: string) {}
}
