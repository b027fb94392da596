// The store as it was before the columnar rewrite (with @sluice/timeline's validator of that time),
// bundled from the sources so bench/append.bench.mjs can print before/after ratios in one process.
// Generated; not part of the package.
// ../../tmp/tmperf/old/tm-src/memory-timeline-store.ts
// ../../tmp/tmperf/old/tl-src/cursor.ts
import { SystemError, SystemError as SystemError4 } from "@sluice/errors";

var VERSION = 1;
function encodeCursor(last, filter) {
  const body = JSON.stringify([VERSION, last.at, last.seq, last.id, fingerprint(filter)]);
  return toBase64Url(new TextEncoder().encode(body));
}
function decodeCursor(cursor, filter) {
  if (typeof cursor !== "string" || cursor.length === 0) {
    throw invalid("filter.next must be the non-empty string a previous page returned as `next`");
  }
  let parsed;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromBase64Url(cursor)));
  } catch {
    throw invalid("filter.next is not a cursor this store issued; pass a previous page's `next` unchanged");
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 5 ||
    parsed[0] !== VERSION ||
    typeof parsed[1] !== "number" ||
    !Number.isFinite(parsed[1]) ||
    !Number.isSafeInteger(parsed[2]) ||
    parsed[2] < 0 ||
    typeof parsed[3] !== "string" ||
    typeof parsed[4] !== "string"
  ) {
    throw invalid("filter.next is not a cursor this store issued; pass a previous page's `next` unchanged");
  }
  if (parsed[4] !== fingerprint(filter)) {
    throw invalid(
      "filter.next was issued for a different filter; page with the same runId, workflowId, from and to as the first page",
    );
  }
  return { at: parsed[1], seq: parsed[2], id: parsed[3] };
}
function fingerprint(filter) {
  const f = filter ?? {};
  return hash(JSON.stringify([f.runId ?? null, f.workflowId ?? null, f.from ?? null, f.to ?? null]));
}
function hash(text) {
  let h1 = 3735928559;
  let h2 = 1103547991;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}
function toBase64Url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function fromBase64Url(text) {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
function invalid(message) {
  return new SystemError("INVALID_INPUT", message, { details: { path: "filter.next" } });
}

// ../../tmp/tmperf/old/tl-src/limits.ts
var DEFAULT_QUERY_LIMIT = 1e3;
var MAX_QUERY_LIMIT = 1e4;
var MAX_DATA_DEPTH = 256;

// ../../tmp/tmperf/old/tl-src/order.ts
function compareTimelineEvents(a, b) {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

// ../../tmp/tmperf/old/tl-src/query.ts
import { SystemError as SystemError2 } from "@sluice/errors";

function resolveQuery(filter) {
  if (filter === void 0) return { limit: DEFAULT_QUERY_LIMIT };
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    throw invalid2("filter must be an object (a TimelineQuery) or undefined", "filter");
  }
  const f = filter;
  rejectUnknown(f, QUERY_FIELDS, "a TimelineQuery field (runId, workflowId, from, to, limit, next)");
  const out = { limit: DEFAULT_QUERY_LIMIT };
  const runId = optionalId(f, "runId");
  if (runId !== void 0) out.runId = runId;
  const workflowId = optionalId(f, "workflowId");
  if (workflowId !== void 0) out.workflowId = workflowId;
  const from = optionalTime(f, "from");
  if (from !== void 0) out.from = from;
  const to = optionalTime(f, "to");
  if (to !== void 0) out.to = to;
  if (from !== void 0 && to !== void 0 && from > to) {
    throw invalid2(`filter.from (${from}) must not be after filter.to (${to})`, "filter.from");
  }
  const limit = f.limit;
  if (limit !== void 0) {
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) {
      throw invalid2(
        `filter.limit must be an integer from 1 to ${MAX_QUERY_LIMIT}, got ${String(limit)}`,
        "filter.limit",
      );
    }
    out.limit = limit;
  }
  if (f.next !== void 0) out.after = decodeCursor(f.next, out);
  return out;
}
function makeTimelinePage(rows, query) {
  if (rows.length <= query.limit) return { events: rows };
  rows.length = query.limit;
  return { events: rows, next: encodeCursor(rows[rows.length - 1], query) };
}
function validateDeleteFilter(filter) {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    throw invalid2(
      "delete filter must be an object with runId, workflowId and/or before; to delete everything pass { before: Infinity }",
      "filter",
    );
  }
  const f = filter;
  rejectUnknown(f, DELETE_FIELDS, "a TimelineDeleteFilter field (runId, workflowId, before)");
  const runId = optionalId(f, "runId");
  const workflowId = optionalId(f, "workflowId");
  const before = optionalTime(f, "before");
  if (runId === void 0 && workflowId === void 0 && before === void 0) {
    throw invalid2(
      "delete filter must give runId, workflowId and/or before; to delete everything pass { before: Infinity }",
      "filter",
    );
  }
}
var QUERY_FIELDS = /* @__PURE__ */ new Set(["runId", "workflowId", "from", "to", "limit", "next"]);
var DELETE_FIELDS = /* @__PURE__ */ new Set(["runId", "workflowId", "before"]);
function rejectUnknown(f, known, what) {
  for (const key in f) {
    if (Object.hasOwn(f, key) && !known.has(key) && f[key] !== void 0) {
      throw invalid2(`filter.${key} is not ${what}`, `filter.${key}`);
    }
  }
}
function optionalId(f, key) {
  const value = f[key];
  if (value === void 0) return void 0;
  if (typeof value !== "string" || value.length === 0) {
    throw invalid2(`filter.${key} must be a non-empty string when present`, `filter.${key}`);
  }
  return value;
}
function optionalTime(f, key) {
  const value = f[key];
  if (value === void 0) return void 0;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw invalid2(`filter.${key} must be a number (epoch milliseconds) when present`, `filter.${key}`);
  }
  return value;
}
function invalid2(message, path) {
  return new SystemError2("INVALID_INPUT", message, { details: { path } });
}

// ../../tmp/tmperf/old/tl-src/validate-event.ts
import { SystemError as SystemError3 } from "@sluice/errors";

var TOO_DEEP = "too deep";
var LEVELS = /* @__PURE__ */ new Set(["debug", "info", "warn", "error"]);
var DataFault = class {
  constructor(reason) {
    this.reason = reason;
  }
  path = [];
};
function validateTimelineEvent(event, index) {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    const at = prefix(index);
    throw invalid3(`${at} must be an object (a TimelineEvent), got ${describe(event)}`, at);
  }
  const e = event;
  requireText(e, "id", index);
  requireText(e, "runId", index);
  requireText(e, "workflowId", index);
  const seq = e.seq;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) {
    const at = prefix(index);
    throw invalid3(`${at}.seq must be a non-negative integer, got ${describe(seq)}`, `${at}.seq`);
  }
  const time = e.at;
  if (typeof time !== "number" || !Number.isFinite(time)) {
    const at = prefix(index);
    throw invalid3(
      `${at}.at must be a finite number (epoch milliseconds), got ${describe(time)}`,
      `${at}.at`,
    );
  }
  requireText(e, "source", index);
  requireText(e, "type", index);
  optionalString(e, "stage", index);
  optionalString(e, "step", index);
  optionalString(e, "message", index);
  const level = e.level;
  if (level !== void 0 && (typeof level !== "string" || !LEVELS.has(level))) {
    const at = prefix(index);
    throw invalid3(
      `${at}.level must be "debug", "info", "warn" or "error", got ${describe(level)}`,
      `${at}.level`,
    );
  }
  const keys = Object.keys(e);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    if (!isEventField(key)) {
      const at = prefix(index);
      throw invalid3(
        `${at}.${key} is not a TimelineEvent field; put extra detail in ${at}.data`,
        `${at}.${key}`,
      );
    }
  }
  const data = e.data;
  if (data !== null && typeof data === "object") {
    try {
      checkJson(data, 1);
    } catch (fault) {
      if (!(fault instanceof DataFault)) throw fault;
      const at = prefix(index);
      if (fault.reason === TOO_DEEP) {
        const cycle = cyclePrefix(data, fault.path);
        if (cycle === void 0) {
          throw invalid3(`${at}.data nests deeper than ${MAX_DATA_DEPTH} levels`, `${at}.data`);
        }
        const path2 = `${at}.data${formatPath(cycle)}`;
        throw invalid3(
          `${path2} refers back to an enclosing object (a cycle); data must be plain JSON`,
          path2,
        );
      }
      const path = `${at}.data${formatPath(fault.path)}`;
      throw invalid3(`${path} ${fault.reason}; data must be plain JSON`, path);
    }
  } else if (data !== void 0) {
    checkJsonPrimitive(data, index);
  }
}
function validateTimelineEvents(events) {
  if (!Array.isArray(events)) {
    throw invalid3(`events must be an array of TimelineEvent, got ${describe(events)}`, "events");
  }
  for (let i = 0; i < events.length; i++) validateTimelineEvent(events[i], i);
}
function isEventField(key) {
  switch (key) {
    case "id":
    case "runId":
    case "workflowId":
    case "seq":
    case "at":
    case "source":
    case "type":
    case "stage":
    case "step":
    case "level":
    case "message":
    case "data":
      return true;
    default:
      return false;
  }
}
function prefix(index) {
  return index === void 0 ? "event" : `events[${index}]`;
}
function requireText(e, key, index) {
  const value = e[key];
  if (typeof value !== "string" || value.length === 0) {
    const at = prefix(index);
    throw invalid3(`${at}.${key} must be a non-empty string, got ${describe(value)}`, `${at}.${key}`);
  }
}
function optionalString(e, key, index) {
  const value = e[key];
  if (value !== void 0 && typeof value !== "string") {
    const at = prefix(index);
    throw invalid3(`${at}.${key} must be a string when present, got ${describe(value)}`, `${at}.${key}`);
  }
}
function checkJsonPrimitive(value, index) {
  try {
    checkJson(value, 1);
  } catch (fault) {
    if (!(fault instanceof DataFault)) throw fault;
    const path = `${prefix(index)}.data`;
    throw invalid3(`${path} ${fault.reason}; data must be plain JSON`, path);
  }
}
function checkJson(value, depth) {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) throw new DataFault(`is ${value} (not representable in JSON)`);
      return;
    case "object":
      break;
    case "undefined":
      throw new DataFault("is undefined (use null, or leave the property out)");
    case "bigint":
      throw new DataFault("is a BigInt (store it as a string)");
    default:
      throw new DataFault(`is a ${typeof value}`);
  }
  if (value === null) return;
  if (depth > MAX_DATA_DEPTH) throw new DataFault(TOO_DEEP);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      try {
        checkJson(value[i], depth + 1);
      } catch (fault) {
        if (fault instanceof DataFault) fault.path.unshift(i);
        throw fault;
      }
    }
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new DataFault(`is a ${Object.prototype.toString.call(value).slice(8, -1)}, not a plain object`);
  }
  const record = value;
  const keys = Object.keys(record);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const item = record[key];
    if (item === void 0) continue;
    try {
      checkJson(item, depth + 1);
    } catch (fault) {
      if (fault instanceof DataFault) fault.path.unshift(key);
      throw fault;
    }
  }
}
function cyclePrefix(root, path) {
  const seen = /* @__PURE__ */ new Set([root]);
  let node = root;
  for (let i = 0; i < path.length; i++) {
    node = node[path[i]];
    if (seen.has(node)) return path.slice(0, i + 1);
    seen.add(node);
  }
  return void 0;
}
var IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
function formatPath(path) {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (IDENTIFIER.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}
function describe(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}\u2026` : JSON.stringify(value);
    case "number":
    case "boolean":
      return String(value);
    case "bigint":
      return `${value}n`;
    case "undefined":
      return "undefined";
    default:
      return `a ${typeof value}`;
  }
}
function invalid3(message, path) {
  return new SystemError3("INVALID_INPUT", message, { details: { path } });
}

// ../../tmp/tmperf/old/tm-src/sorted-index.ts
var MIN_COMPACT = 64;
var SortedIndex = class {
  items = [];
  /** Entries before `start` are all dead. */
  start = 0;
  /** Dead entries at or after `start`. */
  dead = 0;
  get live() {
    return this.items.length - this.start - this.dead;
  }
  add(entry) {
    const items = this.items;
    const n = items.length;
    if (n === this.start || compareTimelineEvents(items[n - 1], entry) < 0) {
      items.push(entry);
      return;
    }
    items.splice(this.firstAfter(entry), 0, entry);
  }
  /** Records that one entry of this index died; compacts when tombstones dominate. */
  died() {
    this.dead++;
    const items = this.items;
    let start = this.start;
    while (start < items.length && !items[start].alive) {
      start++;
      this.dead--;
    }
    this.start = start;
    if (start >= MIN_COMPACT && start * 2 > items.length) {
      this.items = items.slice(start);
      this.start = 0;
    } else if (this.dead >= MIN_COMPACT && this.dead * 2 > items.length - start) {
      this.items = items.slice(start).filter(isAlive);
      this.start = 0;
      this.dead = 0;
    }
  }
  /** Index of the first entry with `at >= from`. */
  firstAtOrAfter(from) {
    const items = this.items;
    let lo = this.start;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (items[mid].at < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  /** Index of the first entry strictly after `position` in (at, seq, id) order. */
  firstAfter(position) {
    const items = this.items;
    let lo = this.start;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareTimelineEvents(items[mid], position) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
};
function isAlive(entry) {
  return entry.alive;
}

// ../../tmp/tmperf/old/tm-src/stored-event.ts
var StoredEvent = class {
  constructor(e, run, workflow) {
    this.run = run;
    this.workflow = workflow;
    this.id = e.id;
    this.runId = e.runId;
    this.workflowId = e.workflowId;
    this.seq = e.seq;
    this.at = e.at;
    this.source = e.source;
    this.type = e.type;
    this.stage = e.stage;
    this.step = e.step;
    this.level = e.level;
    this.message = e.message;
    this.data = copyJson(e.data);
  }
  id;
  runId;
  workflowId;
  seq;
  at;
  source;
  type;
  stage;
  step;
  level;
  message;
  data;
  /** False once evicted or deleted; indexes skip dead entries until they compact. */
  alive = true;
  /** A fresh, caller-owned copy; absent fields stay absent. */
  toEvent() {
    const out = {
      id: this.id,
      runId: this.runId,
      workflowId: this.workflowId,
      seq: this.seq,
      at: this.at,
      source: this.source,
      type: this.type,
    };
    if (this.stage !== void 0) out.stage = this.stage;
    if (this.step !== void 0) out.step = this.step;
    if (this.level !== void 0) out.level = this.level;
    if (this.message !== void 0) out.message = this.message;
    if (this.data !== void 0) out.data = copyJson(this.data);
    return out;
  }
};
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
      out[key] = copyJson(item);
    }
  }
  return out;
}

// ../../tmp/tmperf/old/tm-src/memory-timeline-store.ts
var DEFAULT_MAX_EVENTS = 1e5;
function createMemoryTimelineStore(options = {}) {
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  if (typeof maxEvents !== "number" || !Number.isSafeInteger(maxEvents) || maxEvents < 1) {
    throw new SystemError4(
      "INVALID_INPUT",
      `createMemoryTimelineStore: maxEvents must be a positive integer, got ${String(maxEvents)}`,
      { details: { path: "options.maxEvents" } },
    );
  }
  return new MemoryStore(maxEvents);
}
var MemoryStore = class {
  constructor(maxEvents) {
    this.maxEvents = maxEvents;
  }
  byId = /* @__PURE__ */ new Map();
  all = new SortedIndex();
  runs = /* @__PURE__ */ new Map();
  workflows = /* @__PURE__ */ new Map();
  // insertion order, for eviction; entries before `head` are gone
  inserted = [];
  head = 0;
  closed = false;
  get size() {
    return this.byId.size;
  }
  async append(events) {
    this.ensureOpen("append");
    validateTimelineEvents(events);
    const byId = this.byId;
    let runId;
    let run;
    let workflowId;
    let workflow;
    for (let i = 0; i < events.length; i++) {
      const source = events[i];
      if (byId.has(source.id)) continue;
      if (source.runId !== runId || run === void 0) {
        runId = source.runId;
        run = indexFor(this.runs, runId);
      }
      if (source.workflowId !== workflowId || workflow === void 0) {
        workflowId = source.workflowId;
        workflow = indexFor(this.workflows, workflowId);
      }
      const entry = new StoredEvent(source, run, workflow);
      byId.set(source.id, entry);
      this.all.add(entry);
      run.add(entry);
      workflow.add(entry);
      this.inserted.push(entry);
    }
    if (byId.size > this.maxEvents) this.evict();
  }
  async query(filter) {
    this.ensureOpen("query");
    const q = resolveQuery(filter);
    const index =
      q.runId !== void 0
        ? this.runs.get(q.runId)
        : q.workflowId !== void 0
          ? this.workflows.get(q.workflowId)
          : this.all;
    if (index === void 0) return { events: [] };
    const items = index.items;
    let i = q.from === void 0 ? index.start : index.firstAtOrAfter(q.from);
    if (q.after !== void 0) i = Math.max(i, index.firstAfter(q.after));
    const checkWorkflow = q.runId !== void 0 && q.workflowId !== void 0;
    const rows = [];
    for (; i < items.length && rows.length <= q.limit; i++) {
      const entry = items[i];
      if (!entry.alive) continue;
      if (q.to !== void 0 && entry.at >= q.to) break;
      if (checkWorkflow && entry.workflowId !== q.workflowId) continue;
      rows.push(entry.toEvent());
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
          : this.all;
    if (index === void 0) return 0;
    const items = index.items;
    let count = 0;
    for (let i = index.start; i < items.length; i++) {
      const entry = items[i];
      if (!entry.alive) continue;
      if (filter.before !== void 0 && !(entry.at < filter.before)) break;
      if (filter.runId !== void 0 && entry.runId !== filter.runId) continue;
      if (filter.workflowId !== void 0 && entry.workflowId !== filter.workflowId) continue;
      this.remove(entry);
      count++;
    }
    return count;
  }
  async close() {
    if (this.closed) return;
    this.closed = true;
    this.byId.clear();
    this.all = new SortedIndex();
    this.runs = /* @__PURE__ */ new Map();
    this.workflows = /* @__PURE__ */ new Map();
    this.inserted = [];
    this.head = 0;
  }
  evict() {
    while (this.byId.size > this.maxEvents) {
      const entry = this.inserted[this.head++];
      if (entry.alive) this.remove(entry);
    }
    this.compactInserted();
  }
  remove(entry) {
    entry.alive = false;
    this.byId.delete(entry.id);
    this.all.died();
    entry.run.died();
    if (entry.run.live === 0 && this.runs.get(entry.runId) === entry.run) this.runs.delete(entry.runId);
    entry.workflow.died();
    if (entry.workflow.live === 0 && this.workflows.get(entry.workflowId) === entry.workflow) {
      this.workflows.delete(entry.workflowId);
    }
    if (this.byId.size * 2 + 1024 < this.inserted.length - this.head) this.compactInserted();
  }
  // Drops evicted and deleted entries from the insertion queue once they dominate it.
  compactInserted() {
    const pending = this.inserted.length - this.head;
    if (this.head > 1024 && this.head * 2 > this.inserted.length) {
      this.inserted = this.inserted.slice(this.head);
      this.head = 0;
    }
    if (pending > this.byId.size * 2 + 1024) {
      this.inserted = this.inserted.slice(this.head).filter((e) => e.alive);
      this.head = 0;
    }
  }
  ensureOpen(operation) {
    if (this.closed) {
      throw new SystemError4(
        "DISPOSED",
        `timeline-memory: ${operation}() called after close(); create a new store`,
      );
    }
  }
};
function indexFor(map, key) {
  let index = map.get(key);
  if (index === void 0) {
    index = new SortedIndex();
    map.set(key, index);
  }
  return index;
}

export { createMemoryTimelineStore, DEFAULT_MAX_EVENTS };
