// The optional render cache (`SandboxOptions.renderCache`): the UTF-8 bytes of each issue's JSON,
// memoised per (catalog base URL, normalised field selection, issue index), so that serving an
// issue again with the same fields costs a buffer copy instead of ~30 µs of generation. It exists
// for `npm run bench`, where the sandbox shares the machine's cores with the pmsync under test:
// a real Jira's rendering does not run on the user's machine, so the bench pre-renders with
// `warm` (POST /_sandbox/warm) and then serves from memory.
//
// Freshness: an entry remembers the issue's `Dataset.renderVersion` at render time and the
// versions of every other issue its text embeds (`parent`, `subtasks`, `issuelinks`; reported by
// `Dataset.renderJson`'s `deps`). Every mutation bumps the version of the issue it changes (and a
// new sub-task bumps its parent), so an entry is served only while all of those are unchanged:
// a touched parent re-renders its sub-tasks and epic children, a deleted sub-task its parent, a
// touchVolatile (lastViewed, watches) the issue itself. Nothing in a rendering depends on the
// clock, so no other invalidation is needed.
//
// Memory: the bytes themselves (pmsync's field set averages ~6 KB per issue, so a warm 100,000-
// issue table is ~600 MB of Buffers outside the V8 heap, plus ~100 B of bookkeeping per issue).
// Bounded by MAX_TABLES field sets and MAX_BYTES in all: a new field set evicts the least
// recently used one, and when the bytes would exceed the budget, other field sets are evicted
// first and then the issue is simply served uncached.

import type { SiteCatalog } from "./catalog.js";
import type { Dataset, FieldSelection } from "./dataset.js";
import type { ZoneClock } from "./time.js";

export const RENDER_CACHE_MAX_BYTES = 2 * 1024 * 1024 * 1024;
export const RENDER_CACHE_MAX_TABLES = 4;

/** The cached renderings of one (catalog, field selection). */
export class RenderTable {
  /** By issue index: the JSON bytes, the render version then, and [j, version of j, …]. */
  readonly bufs: (Buffer | undefined)[] = [];
  readonly versions: number[] = [];
  readonly deps: (number[] | undefined)[] = [];
  bytes = 0;
  entries = 0;
  used = 0;

  constructor(
    readonly key: string,
    readonly cat: SiteCatalog,
    readonly sel: FieldSelection,
  ) {}

  /** Grows the (packed) arrays to cover index `i`; sparse writes would make them dictionaries. */
  ensure(i: number): void {
    while (this.bufs.length <= i) {
      this.bufs.push(undefined);
      this.versions.push(-1);
      this.deps.push(undefined);
    }
  }
}

export class RenderCache {
  private readonly tables = new Map<string, RenderTable>();
  private tick = 0;
  bytes = 0;
  hits = 0;
  misses = 0;

  constructor(
    private readonly ds: Dataset,
    private readonly zone: ZoneClock,
    private readonly maxBytes = RENDER_CACHE_MAX_BYTES,
    private readonly maxTables = RENDER_CACHE_MAX_TABLES,
  ) {}

  /** The table for this catalog and selection; undefined for id-only selections (cheap to render). */
  table(cat: SiteCatalog, sel: FieldSelection): RenderTable | undefined {
    if (sel.idOnly) return undefined;
    const key = `${cat.base}\n${sel.cacheKey}`;
    let t = this.tables.get(key);
    if (t === undefined) {
      while (this.tables.size >= this.maxTables) {
        const lru = this.leastRecentlyUsed(undefined);
        if (lru === undefined) break;
        this.dropTable(lru);
      }
      t = new RenderTable(key, cat, sel);
      t.ensure(this.ds.size - 1);
      this.tables.set(key, t);
    }
    t.used = ++this.tick;
    return t;
  }

  /**
   * Issue `i` (live) rendered for table `t`, from the cache when still fresh, else rendered now:
   * the UTF-8 bytes of `,` + its JSON. The leading comma lets a search page be sent as the
   * cached buffers themselves (`subarray(1)` for the first), with no copy into a page buffer.
   */
  get(t: RenderTable, i: number): Buffer {
    const cached = t.bufs[i];
    if (cached !== undefined && this.fresh(t, i)) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const deps: number[] = [];
    const buf = Buffer.from("," + this.ds.renderJson(i, t.cat, t.sel, this.zone, deps), "utf8");
    this.store(t, i, buf, deps);
    return buf;
  }

  /** Forgets issue `i` in every table (it was deleted). */
  drop(i: number): void {
    for (const t of this.tables.values()) this.forget(t, i);
  }

  stats(): { tables: number; entries: number; bytes: number; hits: number; misses: number } {
    let entries = 0;
    for (const t of this.tables.values()) entries += t.entries;
    return { tables: this.tables.size, entries, bytes: this.bytes, hits: this.hits, misses: this.misses };
  }

  private fresh(t: RenderTable, i: number): boolean {
    const rv = this.ds.renderVersion;
    if (t.versions[i] !== rv[i]) return false;
    const d = t.deps[i];
    if (d !== undefined) for (let k = 0; k < d.length; k += 2) if (rv[d[k] ?? 0] !== d[k + 1]) return false;
    return true;
  }

  private store(t: RenderTable, i: number, buf: Buffer, deps: number[]): void {
    this.forget(t, i);
    while (this.bytes + buf.length > this.maxBytes) {
      const lru = this.leastRecentlyUsed(t);
      if (lru === undefined) return; // over budget with this table alone: serve uncached
      this.dropTable(lru);
    }
    const rv = this.ds.renderVersion;
    t.ensure(i);
    t.bufs[i] = buf;
    t.versions[i] = rv[i] ?? 0;
    if (deps.length > 0) {
      const pairs = new Array<number>(deps.length * 2);
      for (let k = 0; k < deps.length; k++) {
        const j = deps[k] ?? 0;
        pairs[2 * k] = j;
        pairs[2 * k + 1] = rv[j] ?? 0;
      }
      t.deps[i] = pairs;
    }
    t.bytes += buf.length;
    t.entries++;
    this.bytes += buf.length;
  }

  private forget(t: RenderTable, i: number): void {
    const old = t.bufs[i];
    if (old === undefined) return;
    t.bufs[i] = undefined;
    t.versions[i] = -1;
    t.deps[i] = undefined;
    t.bytes -= old.length;
    t.entries--;
    this.bytes -= old.length;
  }

  private leastRecentlyUsed(except: RenderTable | undefined): RenderTable | undefined {
    let lru: RenderTable | undefined;
    for (const t of this.tables.values()) if (t !== except && (lru === undefined || t.used < lru.used)) lru = t;
    return lru;
  }

  private dropTable(t: RenderTable): void {
    this.tables.delete(t.key);
    this.bytes -= t.bytes;
  }
}
