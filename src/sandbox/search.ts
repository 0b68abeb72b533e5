// Search execution over the dataset: candidate selection through the (updated, id) index,
// filtering, ordering, and keyset paging behind an opaque `nextPageToken`.
//
// Results are computed fresh for every data change (no snapshot, like Jira): the ordered result
// list is cached only until the next mutation. The token records the sort values of the last
// issue returned, so the next page starts right after it in the *current* order: an issue
// edited mid-paging moves and may be returned again later, and nothing is skipped.

import { createHash } from "node:crypto";
import type { Dataset } from "./dataset.js";
import { parseJql, type Cond, type JqlContext, type Query, type SortSpec } from "./jql.js";

export const TOKEN_TTL_MS = 7 * 86_400_000;

export class BadRequest extends Error {
  constructor(readonly messages: string[]) {
    super(messages.join(" "));
  }
}

export const UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.";
export const BAD_TOKEN = "The provided next page token is invalid or expired.";

interface Cached {
  mutation: number;
  list: number[];
}

interface TokenBody {
  v: 1;
  q: string;
  u: number;
  c: number;
  i: number;
  t: number;
}

export interface PageResult {
  indices: number[];
  nextPageToken?: string;
  isLast: boolean;
}

export class SearchEngine {
  private readonly cache = new Map<string, Cached>();
  private readonly projectOrder: number[];

  constructor(private readonly ds: Dataset) {
    const keys = ds.projects.map((p, i) => ({ key: p.key, i })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.projectOrder = new Array<number>(ds.projects.length).fill(0);
    keys.forEach((k, rank) => {
      this.projectOrder[k.i] = rank;
    });
  }

  parse(jql: string, ctx: JqlContext): Query {
    const q = parseJql(jql, ctx);
    if (q.where === null) throw new BadRequest([UNBOUNDED]);
    return q;
  }

  /** One page of results. `jql` is the raw text the token is bound to. */
  page(jql: string, q: Query, token: string | undefined, maxResults: number, now: number): PageResult {
    const qhash = jqlHash(jql);
    const list = this.results(jql, q);
    let pos = 0;
    if (token !== undefined && token !== "") {
      const body = decodeToken(token);
      if (!body || body.q !== qhash || now - body.t > TOKEN_TTL_MS) throw new BadRequest([BAD_TOKEN]);
      pos = this.after(list, q.orderBy, body);
    }
    const end = Math.min(list.length, pos + Math.max(1, maxResults));
    const indices = list.slice(pos, end);
    const isLast = end >= list.length;
    const result: PageResult = { indices, isLast };
    if (!isLast) {
      // The token marks the last issue returned; the next page starts after it.
      const a = list[end - 1] ?? 0;
      result.nextPageToken = encodeToken({ v: 1, q: qhash, u: this.ds.updated[a] ?? 0, c: this.ds.created[a] ?? 0, i: a, t: now });
    }
    return result;
  }

  /** Count of matching issues (`/search/approximate-count`). */
  count(jql: string, q: Query): number {
    return this.results(jql, q).length;
  }

  private results(jql: string, q: Query): number[] {
    const key = jql + "\u0000" + q.times.join(",");
    const hit = this.cache.get(key);
    if (hit && hit.mutation === this.ds.mutation) return hit.list;
    const list = this.compute(q);
    this.cache.delete(key);
    this.cache.set(key, { mutation: this.ds.mutation, list });
    while (this.cache.size > 16) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
    return list;
  }

  private compute(q: Query): number[] {
    const ds = this.ds;
    const where = q.where;
    const top: Cond[] = where === null ? [] : where.k === "and" ? where.items : [where];
    let candidates: number[];
    const keyed = top.find((c): c is Extract<Cond, { k: "issue" }> => c.k === "issue" && !c.neg);
    if (keyed) {
      candidates = [...keyed.set].filter((i) => ds.isLive(i)).sort((a, b) => (ds.updated[a] ?? 0) - (ds.updated[b] ?? 0) || a - b);
    } else {
      let lo = 0;
      let hi = ds.sorted.length;
      for (const c of top) {
        if (c.k !== "time" || c.field !== "updated") continue;
        if (c.op === ">=" || c.op === ">") lo = Math.max(lo, ds.firstUpdatedAtLeast(c.ms, c.op === ">"));
        else if (c.op === "<" || c.op === "<=") hi = Math.min(hi, ds.firstUpdatedAtLeast(c.ms, c.op === "<="));
      }
      candidates = lo < hi ? ds.sorted.slice(lo, hi) : [];
    }
    const out = where === null ? candidates : candidates.filter((i) => this.matches(where, i));
    const order = q.orderBy.length > 0 ? q.orderBy : DEFAULT_ORDER;
    if (isNaturalOrder(order)) return out;
    const cmp = (a: number, b: number): number => this.compare(order, ds.updated[a] ?? 0, ds.created[a] ?? 0, a, ds.updated[b] ?? 0, ds.created[b] ?? 0, b);
    if (order[0]?.field !== "updated") return out.sort(cmp);
    // Already ordered by updated: reverse for DESC, then order only the runs of equal `updated`.
    if (order[0].desc) out.reverse();
    for (let a = 0; a < out.length; ) {
      const u = ds.updated[out[a] ?? 0];
      let b = a + 1;
      while (b < out.length && ds.updated[out[b] ?? 0] === u) b++;
      if (b - a > 1) {
        const run = out.slice(a, b).sort(cmp);
        for (let k = 0; k < run.length; k++) out[a + k] = run[k] ?? 0;
      }
      a = b;
    }
    return out;
  }

  private matches(c: Cond, i: number): boolean {
    const ds = this.ds;
    switch (c.k) {
      case "and":
        return c.items.every((x) => this.matches(x, i));
      case "or":
        return c.items.some((x) => this.matches(x, i));
      case "not":
        return !this.matches(c.item, i);
      case "project":
        return c.set.includes(ds.proj[i] ?? -1) !== c.neg;
      case "issue":
        return c.set.has(i) !== c.neg;
      case "time": {
        const v = (c.field === "updated" ? ds.updated[i] : ds.created[i]) ?? 0;
        switch (c.op) {
          case ">=":
            return v >= c.ms;
          case ">":
            return v > c.ms;
          case "<=":
            return v <= c.ms;
          case "<":
            return v < c.ms;
          case "=":
            return v === c.ms;
          case "!=":
            return v !== c.ms;
        }
      }
    }
    return false;
  }

  private keyRank(i: number): number {
    return (this.projectOrder[this.ds.proj[i] ?? 0] ?? 0) * 4_294_967_296 + (this.ds.num[i] ?? 0);
  }

  /** Compares two (updated, created, index) tuples under the sort; index breaks remaining ties. */
  private compare(order: readonly SortSpec[], ua: number, ca: number, ia: number, ub: number, cb: number, ib: number): number {
    for (const s of order) {
      let d: number;
      switch (s.field) {
        case "updated":
          d = ua - ub;
          break;
        case "created":
          d = ca - cb;
          break;
        case "id":
          d = ia - ib;
          break;
        case "key":
          d = this.keyRank(ia) - this.keyRank(ib);
          break;
        case "project":
          d = (this.projectOrder[this.ds.proj[ia] ?? 0] ?? 0) - (this.projectOrder[this.ds.proj[ib] ?? 0] ?? 0);
          break;
      }
      if (d !== 0) return s.desc ? -d : d;
    }
    return ia - ib;
  }

  /** First position in `list` that sorts strictly after the token's issue. */
  private after(list: readonly number[], orderBy: readonly SortSpec[], t: TokenBody): number {
    const order = orderBy.length > 0 ? orderBy : DEFAULT_ORDER;
    const ds = this.ds;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const x = list[mid] ?? 0;
      if (this.compare(order, ds.updated[x] ?? 0, ds.created[x] ?? 0, x, t.u, t.c, t.i) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** Without ORDER BY, Jira returns the newest issues first. */
const DEFAULT_ORDER: SortSpec[] = [{ field: "created", desc: true }, { field: "id", desc: true }];

function isNaturalOrder(order: readonly SortSpec[]): boolean {
  const first = order[0];
  if (!first || first.field !== "updated" || first.desc) return false;
  if (order.length === 1) return true;
  const second = order[1];
  return order.length === 2 && second !== undefined && second.field === "id" && !second.desc;
}

export function jqlHash(jql: string): string {
  return createHash("sha256").update(jql.trim()).digest("base64url").slice(0, 16);
}

function encodeToken(body: TokenBody): string {
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

function decodeToken(token: string): TokenBody | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  try {
    const raw = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Record<string, unknown>;
    const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
    const u = num(raw["u"]);
    const c = num(raw["c"]);
    const i = raw["i"];
    const t = raw["t"];
    if (raw["v"] !== 1 || typeof raw["q"] !== "string" || u === undefined || c === undefined || typeof i !== "number" || typeof t !== "number") return undefined;
    return { v: 1, q: raw["q"], u, c, i, t };
  } catch {
    return undefined;
  }
}

