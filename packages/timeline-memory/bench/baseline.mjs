// The store before this rewrite (the columnar ring buffer that kept id strings and `data` copies,
// maintained per-run and per-workflow indexes on every append and evicted event by event), as built
// to dist/: only here, so that bench/append.bench.mjs can print before/after ratios measured side by
// side in one process. Generated; not part of the package.
// src/memory-timeline-store.ts
import { SystemError } from "@sluice/errors";
import {
  makeTimelinePage,
  resolveQuery,
  validateDeleteFilter,
  validateTimelineEvents,
} from "@sluice/timeline";

// src/copy-json.ts
function copyJson(value) {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const out2 = new Array(value.length);
    for (let i = 0; i < value.length; i++) out2[i] = copyJson(value[i]);
    return out2;
  }
  const source = value;
  const out = {};
  const keys = Object.keys(source);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const item = source[key];
    if (item === void 0) continue;
    if (key === "__proto__") {
      Object.defineProperty(out, key, {
        value: copyJson(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      out[key] = typeof item === "object" && item !== null ? copyJson(item) : item;
    }
  }
  return out;
}

// src/id-table.ts
var IdTable = class {
  /** Log positions; `EMPTY` marks a free slot. */
  slots;
  mask;
  /** Ids held. */
  size = 0;
  constructor(capacity = 2048) {
    this.slots = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
  }
  /** Slots the table has (a power of two). */
  get capacity() {
    return this.slots.length;
  }
  /**
   * The position stored for `id`, or -1. `ids` and `hashes` are the log columns, read at
   * `position & logMask`.
   */
  find(id, hash, ids, hashes, logMask) {
    const slots = this.slots;
    const mask = this.mask;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const p = slots[s];
      if (p === EMPTY) return -1;
      const at = p & logMask;
      if (hashes[at] === hash && ids[at] === id) return p;
    }
  }
  /** Adds a position whose id is not in the table (check with {@link find} first). */
  insert(hash, position) {
    const slots = this.slots;
    const mask = this.mask;
    let s = hash & mask;
    while (slots[s] !== EMPTY) s = (s + 1) & mask;
    slots[s] = position;
    this.size++;
  }
  /** Removes a position that is in the table; `hash` is its id's hash. */
  remove(hash, position, hashes, logMask) {
    const slots = this.slots;
    const mask = this.mask;
    let hole = hash & mask;
    while (slots[hole] !== position) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const p = slots[j];
      if (p === EMPTY) break;
      const home = hashes[p & logMask] & mask;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        slots[hole] = p;
        hole = j;
      }
    }
    slots[hole] = EMPTY;
    this.size--;
  }
  /** Empties the table, making it `capacity` slots (a power of two). */
  reset(capacity) {
    if (capacity === this.slots.length) this.slots.fill(EMPTY);
    else this.slots = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    this.size = 0;
  }
};
var EMPTY = -1;
function hashId(id) {
  let h = 2166136261 | 0;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  h ^= h >>> 16;
  h = Math.imul(h, 2246822507);
  h ^= h >>> 13;
  h = Math.imul(h, 3266489909);
  return h ^ (h >>> 16);
}

// src/position-index.ts
var PositionIndex = class {
  /** @param key - the run or workflow id (the map key), or "" for the whole store */
  constructor(key) {
    this.key = key;
  }
  positions = [];
  /** Positions before `start` are all dead. */
  start = 0;
  /** Live events in this index. */
  live = 0;
  /** True when the live positions, in array order, are in (`at`, `seq`, `id`) order. */
  sorted = true;
};

// src/memory-timeline-store.ts
var DEFAULT_MAX_EVENTS = 1e5;
function createMemoryTimelineStore(options = {}) {
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (typeof maxEvents !== "number" || !Number.isSafeInteger(maxEvents) || maxEvents < 1) {
    throw new SystemError(
      "INVALID_INPUT",
      `createMemoryTimelineStore: maxEvents must be a positive integer, got ${String(maxEvents)}`,
      { details: { path: "options.maxEvents" } },
    );
  }
  return new MemoryStore(maxEvents);
}
var MAX_POSITION = 2 ** 30;
var MIN_CAPACITY = 1024;
var MIN_INDEX_COMPACT = 64;
var MemoryStore = class {
  constructor(maxEvents) {
    this.maxEvents = maxEvents;
  }
  mask = MIN_CAPACITY - 1;
  ids = [];
  runIds = [];
  workflowIds = [];
  sources = [];
  types = [];
  stages = [];
  steps = [];
  levels = [];
  messages = [];
  data = [];
  ats = new Float64Array(MIN_CAPACITY);
  seqs = new Float64Array(MIN_CAPACITY);
  hashes = new Int32Array(MIN_CAPACITY);
  /** 1 for a deleted event whose slot `head` has not passed yet. */
  gone = new Uint8Array(MIN_CAPACITY);
  runOf = [];
  workflowOf = [];
  /** First position that may be live. */
  head = 0;
  /** Next position to write. */
  tail = 0;
  /** Live events. */
  live = 0;
  idTable = new IdTable();
  runs = /* @__PURE__ */ new Map();
  workflows = /* @__PURE__ */ new Map();
  /** Index of every event; built on the first query or delete that needs it, then kept. */
  all;
  closed = false;
  comparePositions = (a, b) => this.compare(a, b);
  get size() {
    return this.live;
  }
  async append(events) {
    this.ensureOpen("append");
    validateTimelineEvents(events);
    const count = events.length;
    if (count === 0) return;
    if (this.tail - this.head + count > this.mask + 1 || this.tail + count > MAX_POSITION) {
      this.rebuild(count);
    }
    if ((this.idTable.size + count) * 2 > this.idTable.capacity) this.growIdTable(count);
    const { ids, hashes, idTable, mask, all } = this;
    let runId;
    let run;
    let workflowId;
    let workflow;
    for (let i = 0; i < count; i++) {
      const e = events[i];
      const id = e.id;
      const hash = hashId(id);
      if (idTable.find(id, hash, ids, hashes, mask) !== -1) continue;
      if (e.runId !== runId || run === void 0) {
        runId = e.runId;
        run = indexFor(this.runs, runId);
      }
      if (e.workflowId !== workflowId || workflow === void 0) {
        workflowId = e.workflowId;
        workflow = indexFor(this.workflows, workflowId);
      }
      const position = this.tail++;
      const slot = position & mask;
      ids[slot] = id;
      hashes[slot] = hash;
      this.runIds[slot] = run.key;
      this.workflowIds[slot] = workflow.key;
      this.sources[slot] = e.source;
      this.types[slot] = e.type;
      this.stages[slot] = e.stage;
      this.steps[slot] = e.step;
      this.levels[slot] = e.level;
      this.messages[slot] = e.message;
      const data = e.data;
      this.data[slot] = typeof data === "object" && data !== null ? copyJson(data) : data;
      this.ats[slot] = e.at;
      this.seqs[slot] = e.seq;
      this.gone[slot] = 0;
      this.runOf[slot] = run;
      this.workflowOf[slot] = workflow;
      idTable.insert(hash, position);
      this.live++;
      this.add(run, position);
      this.add(workflow, position);
      if (all !== void 0) this.add(all, position);
    }
    if (this.live > this.maxEvents) this.evict();
  }
  async query(filter) {
    this.ensureOpen("query");
    const q = resolveQuery(filter);
    const index =
      q.runId !== void 0
        ? this.runs.get(q.runId)
        : q.workflowId !== void 0
          ? this.workflows.get(q.workflowId)
          : this.allIndex();
    if (index === void 0) return { events: [] };
    this.prepare(index);
    const positions = index.positions;
    const n = positions.length;
    let i = q.from === void 0 ? 0 : this.firstAtOrAfter(positions, q.from);
    if (q.after !== void 0) i = Math.max(i, this.firstAfter(positions, q.after));
    const checkWorkflow = q.runId !== void 0 && q.workflowId !== void 0;
    const to = q.to;
    const rows = [];
    for (; i < n && rows.length <= q.limit; i++) {
      const slot = positions[i] & this.mask;
      if (to !== void 0 && this.ats[slot] >= to) break;
      if (checkWorkflow && this.workflowIds[slot] !== q.workflowId) continue;
      rows.push(this.toEvent(slot));
    }
    return makeTimelinePage(rows, q);
  }
  async delete(filter) {
    this.ensureOpen("delete");
    validateDeleteFilter(filter);
    const index =
      filter.runId !== void 0
        ? this.runs.get(filter.runId)
        : filter.workflowId !== void 0
          ? this.workflows.get(filter.workflowId)
          : this.allIndex();
    if (index === void 0) return 0;
    this.prepare(index);
    const positions = index.positions;
    const mask = this.mask;
    let count = 0;
    for (let i = 0; i < positions.length; i++) {
      const position = positions[i];
      const slot = position & mask;
      if (filter.before !== void 0 && !(this.ats[slot] < filter.before)) break;
      if (filter.runId !== void 0 && this.runIds[slot] !== filter.runId) continue;
      if (filter.workflowId !== void 0 && this.workflowIds[slot] !== filter.workflowId) continue;
      this.gone[slot] = 1;
      this.data[slot] = void 0;
      this.kill(slot, position);
      count++;
    }
    if (this.tail - this.head > 2 * this.live + MIN_CAPACITY) this.rebuild(0);
    return count;
  }
  async close() {
    if (this.closed) return;
    this.closed = true;
    this.reset(MIN_CAPACITY);
    this.idTable.reset(2 * MIN_CAPACITY);
    this.runs = /* @__PURE__ */ new Map();
    this.workflows = /* @__PURE__ */ new Map();
    this.all = void 0;
  }
  /** Evicts the oldest events by insertion until at most `maxEvents` remain. */
  evict() {
    const { gone, mask } = this;
    while (this.live > this.maxEvents) {
      const position = this.head++;
      const slot = position & mask;
      if (gone[slot] === 0) this.kill(slot, position);
    }
  }
  /** Forgets a live event whose slot is already out of `head`..`tail` or marked gone. */
  kill(slot, position) {
    this.live--;
    this.idTable.remove(this.hashes[slot], position, this.hashes, this.mask);
    const run = this.runOf[slot];
    if (--run.live === 0) {
      if (this.runs.get(run.key) === run) this.runs.delete(run.key);
    } else this.maybeCompact(run);
    const workflow = this.workflowOf[slot];
    if (--workflow.live === 0) {
      if (this.workflows.get(workflow.key) === workflow) this.workflows.delete(workflow.key);
    } else this.maybeCompact(workflow);
    const all = this.all;
    if (all !== void 0) {
      all.live--;
      this.maybeCompact(all);
    }
  }
  isLive(position) {
    return position >= this.head && position < this.tail && this.gone[position & this.mask] === 0;
  }
  add(index, position) {
    const positions = index.positions;
    const n = positions.length;
    if (index.sorted && n > index.start) {
      const last = positions[n - 1];
      if (!this.isLive(last) || this.compare(last, position) > 0) index.sorted = false;
    }
    positions.push(position);
    index.live++;
  }
  maybeCompact(index) {
    const positions = index.positions;
    let start = index.start;
    while (start < positions.length && !this.isLive(positions[start])) start++;
    index.start = start;
    const dead = positions.length - start - index.live;
    if (start >= MIN_INDEX_COMPACT && start * 2 > positions.length) {
      index.positions = positions.slice(start);
      index.start = 0;
    } else if (dead >= MIN_INDEX_COMPACT && dead > index.live) {
      this.dropDead(index);
    }
  }
  dropDead(index) {
    const positions = index.positions;
    const out = [];
    for (let i = index.start; i < positions.length; i++) {
      const position = positions[i];
      if (this.isLive(position)) out.push(position);
    }
    index.positions = out;
    index.start = 0;
  }
  /** Leaves only live positions, from index 0, in (`at`, `seq`, `id`) order. */
  prepare(index) {
    if (index.positions.length !== index.live) {
      if (index.positions.length - index.start === index.live) {
        index.positions = index.positions.slice(index.start);
        index.start = 0;
      } else this.dropDead(index);
    }
    if (!index.sorted) {
      index.positions.sort(this.comparePositions);
      index.sorted = true;
    }
  }
  allIndex() {
    let all = this.all;
    if (all === void 0) {
      all = new PositionIndex("");
      for (let position = this.head; position < this.tail; position++) {
        if (this.gone[position & this.mask] === 0) this.add(all, position);
      }
      this.all = all;
    }
    return all;
  }
  compare(a, b) {
    const sa = a & this.mask;
    const sb = b & this.mask;
    const ats = this.ats;
    if (ats[sa] !== ats[sb]) return ats[sa] < ats[sb] ? -1 : 1;
    const seqs = this.seqs;
    if (seqs[sa] !== seqs[sb]) return seqs[sa] < seqs[sb] ? -1 : 1;
    const ia = this.ids[sa];
    const ib = this.ids[sb];
    if (ia === ib) return 0;
    return ia < ib ? -1 : 1;
  }
  /** First index in `positions` (prepared) whose event has `at >= from`. */
  firstAtOrAfter(positions, from) {
    let lo = 0;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ats[positions[mid] & this.mask] < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** First index in `positions` (prepared) strictly after `after` in (`at`, `seq`, `id`) order. */
  firstAfter(positions, after) {
    let lo = 0;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const slot = positions[mid] & this.mask;
      const at = this.ats[slot];
      const seq = this.seqs[slot];
      const id = this.ids[slot];
      const beforeOrSame =
        at !== after.at ? at < after.at : seq !== after.seq ? seq < after.seq : id <= after.id;
      if (beforeOrSame) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** A fresh, caller-owned copy of the event in `slot`; absent fields stay absent. */
  toEvent(slot) {
    const out = {
      id: this.ids[slot],
      runId: this.runIds[slot],
      workflowId: this.workflowIds[slot],
      seq: this.seqs[slot],
      at: this.ats[slot],
      source: this.sources[slot],
      type: this.types[slot],
    };
    const stage = this.stages[slot];
    if (stage !== void 0) out.stage = stage;
    const step = this.steps[slot];
    if (step !== void 0) out.step = step;
    const level = this.levels[slot];
    if (level !== void 0) out.level = level;
    const message = this.messages[slot];
    if (message !== void 0) out.message = message;
    const data = this.data[slot];
    if (data !== void 0) out.data = copyJson(data);
    return out;
  }
  /**
   * Rewrites the log with only live events, renumbered from 0, in a ring with room for them plus
   * `extra` more (and a quarter to spare, so steady appends do not rebuild again), then rebuilds
   * the id table and indexes. Used to grow, to drop deleted slots, and to keep positions small.
   */
  rebuild(extra) {
    const need = Math.ceil((this.live + extra) * 1.25);
    let capacity = MIN_CAPACITY;
    while (capacity < need) capacity *= 2;
    const old = {
      mask: this.mask,
      ids: this.ids,
      runIds: this.runIds,
      workflowIds: this.workflowIds,
      sources: this.sources,
      types: this.types,
      stages: this.stages,
      steps: this.steps,
      levels: this.levels,
      messages: this.messages,
      data: this.data,
      ats: this.ats,
      seqs: this.seqs,
      hashes: this.hashes,
      gone: this.gone,
      runOf: this.runOf,
      workflowOf: this.workflowOf,
    };
    const from = this.head;
    const to = this.tail;
    this.idTable.reset(tableCapacity(this.live + extra));
    this.reset(capacity);
    const hadAll = this.all !== void 0;
    this.all = void 0;
    for (const index of this.runs.values()) clearIndex(index);
    for (const index of this.workflows.values()) clearIndex(index);
    let position = 0;
    for (let p = from; p < to; p++) {
      const o = p & old.mask;
      if (old.gone[o] === 1) continue;
      const s = position;
      this.ids[s] = old.ids[o];
      this.hashes[s] = old.hashes[o];
      this.runIds[s] = old.runIds[o];
      this.workflowIds[s] = old.workflowIds[o];
      this.sources[s] = old.sources[o];
      this.types[s] = old.types[o];
      this.stages[s] = old.stages[o];
      this.steps[s] = old.steps[o];
      this.levels[s] = old.levels[o];
      this.messages[s] = old.messages[o];
      this.data[s] = old.data[o];
      this.ats[s] = old.ats[o];
      this.seqs[s] = old.seqs[o];
      const run = old.runOf[o];
      const workflow = old.workflowOf[o];
      this.runOf[s] = run;
      this.workflowOf[s] = workflow;
      this.idTable.insert(old.hashes[o], position);
      this.tail = ++position;
      this.add(run, s);
      this.add(workflow, s);
    }
    this.live = position;
    if (hadAll) this.allIndex();
  }
  growIdTable(extra) {
    const table = this.idTable;
    table.reset(tableCapacity(this.live + extra));
    for (let position = this.head; position < this.tail; position++) {
      const slot = position & this.mask;
      if (this.gone[slot] === 0) table.insert(this.hashes[slot], position);
    }
  }
  /** Fresh, empty columns for a ring of `capacity` slots (a power of two). */
  reset(capacity) {
    this.mask = capacity - 1;
    this.ids = new Array(capacity);
    this.runIds = new Array(capacity);
    this.workflowIds = new Array(capacity);
    this.sources = new Array(capacity);
    this.types = new Array(capacity);
    this.stages = new Array(capacity);
    this.steps = new Array(capacity);
    this.levels = new Array(capacity);
    this.messages = new Array(capacity);
    this.data = new Array(capacity);
    this.ats = new Float64Array(capacity);
    this.seqs = new Float64Array(capacity);
    this.hashes = new Int32Array(capacity);
    this.gone = new Uint8Array(capacity);
    this.runOf = new Array(capacity);
    this.workflowOf = new Array(capacity);
    this.head = 0;
    this.tail = 0;
    this.live = 0;
  }
  ensureOpen(operation) {
    if (this.closed) {
      throw new SystemError(
        "DISPOSED",
        `timeline-memory: ${operation}() called after close(); create a new store`,
      );
    }
  }
};
function indexFor(map, key) {
  let index = map.get(key);
  if (index === void 0) {
    index = new PositionIndex(key);
    map.set(key, index);
  }
  return index;
}
function clearIndex(index) {
  index.positions = [];
  index.start = 0;
  index.live = 0;
  index.sorted = true;
}
function tableCapacity(count) {
  let capacity = 2 * MIN_CAPACITY;
  while (capacity < count * 2) capacity *= 2;
  return capacity;
}

export { createMemoryTimelineStore, DEFAULT_MAX_EVENTS };
