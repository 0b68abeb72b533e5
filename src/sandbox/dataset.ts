// The sandbox's issues. Per issue only a few numbers are kept (typed arrays: project, number,
// type, parent, created/updated, version, deleted, last viewed, …); everything else is generated
// on demand from (seed, index, version). 100,000 issues cost a few megabytes of state.
//
// A touch bumps the issue's version: the "mutable" attributes (summary, status + resolution,
// assignee, labels, story points) are each regenerated from the last version at which that
// attribute changed, so a touch visibly edits some of them and leaves the rest alone.

import {
  COMPONENTS_PER_PROJECT,
  R_CANNOT,
  R_DONE,
  R_DUPLICATE,
  R_WONTDO,
  STATUSES,
  ST_DONE,
  ST_PROGRESS,
  ST_REVIEW,
  ST_TODO,
  ST_WONTDO,
  T_BUG,
  T_EPIC,
  T_STORY,
  T_SUBTASK,
  T_TASK,
  USERS,
  FIELD_BY_ID,
  NOT_ISSUE_FIELDS,
  FIELDS,
  type ProjectDef,
  type SiteCatalog,
} from "./catalog.js";
import { hash32, Rng } from "./random.js";
import { commentBodyJson, descriptionJson, LABELS, summaryFor, teamText, type Mentionable } from "./text.js";
import { DAY_MS, HOUR_MS, MINUTE_MS, isoUtc, type ZoneClock } from "./time.js";

const SPAN_MS = 365 * DAY_MS;
const SPRINT_MS = 14 * DAY_MS;

// Salts: one per generated aspect, so each draws from its own stream.
const S_LAYOUT = 1;
const S_TIMES = 2;
const S_CHANGE = 3;
const S_SUMMARY = 4;
const S_STATUS = 5;
const S_ASSIGNEE = 6;
const S_LABELS = 7;
const S_POINTS = 8;
const S_DESC = 9;
const S_STATIC = 10;
const S_SPRINT = 11;
const S_COMMENT = 12;
const S_BULK = 13;
const S_CONTROL = 14;
const S_LINK = 15;

const A_SUMMARY = 0;
const A_STATUS = 1;
const A_ASSIGNEE = 2;
const A_LABELS = 3;
const A_POINTS = 4;

export const SEARCH_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations";

/** Which fields a request wants: Jira's `fields` parameter semantics. */
export class FieldSelection {
  /** True when nothing but `id` (and perhaps `key`) was asked for. */
  readonly idOnly: boolean;
  /** The `key`/`self`/`expand` envelope is present (anything beyond `id` was asked for). */
  readonly envelope: boolean;
  private readonly all: boolean;
  private readonly navigable: boolean;
  private readonly include = new Set<string>();
  private readonly exclude = new Set<string>();
  private readonly memo = new Map<string, boolean>();

  constructor(raw: readonly string[] | undefined, defaultSpec: "id" | "*all") {
    const items: string[] = [];
    for (const entry of raw ?? []) for (const part of entry.split(",")) if (part.trim()) items.push(part.trim());
    if (items.length === 0) items.push(defaultSpec);
    let all = false;
    let navigable = false;
    for (const item of items) {
      if (item === "*all") all = true;
      else if (item === "*navigable") navigable = true;
      else if (item.startsWith("-")) this.exclude.add(item.slice(1));
      else this.include.add(item);
    }
    this.all = all;
    this.navigable = navigable;
    const onlyIdKey = !all && !navigable && [...this.include].every((f) => f === "id" || f === "key");
    this.idOnly = onlyIdKey;
    this.envelope = !(onlyIdKey && !this.include.has("key"));
  }

  wants(id: string): boolean {
    const cached = this.memo.get(id);
    if (cached !== undefined) return cached;
    let yes: boolean;
    if (this.exclude.has(id)) yes = false;
    else if (this.include.has(id)) yes = true;
    else if (this.all) yes = true;
    else if (this.navigable) yes = FIELD_BY_ID.get(id)?.navigable ?? false;
    else yes = false;
    this.memo.set(id, yes);
    return yes;
  }

  /** The issue-field ids this selection returns, in catalog order. */
  fieldIds(): string[] {
    return FIELDS.filter((f) => !NOT_ISSUE_FIELDS.has(f.id) && this.wants(f.id)).map((f) => f.id);
  }

  private key: string | undefined;

  /**
   * What this selection renders, normalised: two selections with the same key render every
   * issue identically, whatever order or spelling (`*all`, `*navigable`, `-x`, duplicates) the
   * request used. `renderJson` consults nothing but `envelope`, `idOnly` and `wants()` of
   * catalog field ids, so those are the key.
   */
  get cacheKey(): string {
    if (this.key === undefined) this.key = `${this.envelope ? "e" : "-"}${this.idOnly ? "i" : "-"}:${this.fieldIds().join(",")}`;
    return this.key;
  }
}

/** An issue's current editable state: generated from its version, with any writes applied. */
export interface IssueState {
  summary: string;
  status: number;
  /** Index into RESOLUTIONS, or -1. */
  resolution: number;
  /** Index into USERS, or -1 for unassigned. */
  assignee: number;
  labels: string[];
  points: number | null;
  statusVersion: number;
  /** The status was set by a write (transition), at `statusChanged`. */
  statusWritten: boolean;
}
type Mutable = IssueState;

/**
 * A write to an issue (REST PUT or transition, or the control API's `edit`). Only the members
 * present change; `description` is ADF JSON text (`"null"` clears it), `duedate` `YYYY-MM-DD`.
 */
export interface IssueEdit {
  summary?: string;
  status?: { status: number; resolution: number };
  assignee?: number;
  labels?: string[];
  points?: number | null;
  priority?: number;
  description?: string;
  duedate?: string | null;
}

/** A written value of a generated attribute, and the issue version it was written at. */
interface Stamped<T> {
  value: T;
  at: number;
}

/**
 * Writes kept per issue. Generated attributes (summary, status, assignee, labels, points) show
 * the written value until a later touch regenerates that attribute (a colleague's edit wins, as
 * the later edit does in Jira); the static ones (priority, description, due date) keep it.
 */
interface Written {
  summary?: Stamped<string>;
  status?: Stamped<{ status: number; resolution: number }>;
  assignee?: Stamped<number>;
  labels?: Stamped<string[]>;
  points?: Stamped<number | null>;
  priority?: number;
  description?: string;
  duedate?: string | null;
}

export interface DatasetOptions {
  issues: number;
  projects: readonly ProjectDef[];
  seed: number;
  startMs: number;
}

export class Dataset {
  readonly seed: number;
  readonly projects: readonly ProjectDef[];
  readonly startMs: number;
  /** Release dates of the per-project fix versions. */
  readonly versionDates: number[];
  /** Bumped on every change that can move an issue in or out of a search or reorder it. */
  mutation = 0;
  size = 0;
  live = 0;

  private cap = 0;
  proj = new Uint8Array(0);
  num = new Uint32Array(0);
  type = new Uint8Array(0);
  parent = new Int32Array(0);
  created = new Float64Array(0);
  updated = new Float64Array(0);
  version = new Uint32Array(0);
  deleted = new Uint8Array(0);
  lastViewed = new Float64Array(0);
  watchBump = new Uint32Array(0);
  statusChanged = new Float64Array(0);
  /**
   * Per issue, bumped by every change to what the issue itself renders (touch, touchVolatile,
   * setUpdatedMs, remove, and a new sub-task under it). What an issue renders of OTHER issues
   * (`parent`, `subtasks`, `issuelinks`) is covered by `renderJson`'s `deps`: the render cache
   * remembers these issues' versions too.
   */
  renderVersion = new Uint32Array(0);

  /** Per project: issue index by (number - 1). */
  private readonly byNumber: number[][];
  private readonly epics: number[][];
  readonly children = new Map<number, number[]>();
  /** Live issue indices sorted by (updated, index). */
  readonly sorted: number[] = [];
  private readonly projectIndex = new Map<string, number>();
  private readonly bulkMinutes: number[];
  private readonly sprintAnchor: number;
  private readonly activeSprint: number;
  private controlCounter = 0;
  private readonly people: Mentionable[];
  private readonly written = new Map<number, Written>();

  constructor(opts: DatasetOptions, accountIds: readonly string[]) {
    this.seed = opts.seed >>> 0;
    this.projects = opts.projects;
    this.startMs = opts.startMs;
    this.byNumber = opts.projects.map(() => []);
    this.epics = opts.projects.map(() => []);
    opts.projects.forEach((p, i) => {
      this.projectIndex.set(p.key.toUpperCase(), i);
    });
    this.people = USERS.map((u, i) => ({ accountId: accountIds[i] ?? "", displayName: u.name }));

    const startDay = Math.floor(opts.startMs / DAY_MS) * DAY_MS;
    this.versionDates = [-120, -90, -60, -30, 15, 45].map((d) => startDay + d * DAY_MS);
    // Two-week sprints starting Mondays 09:00 UTC (1970-01-05 was a Monday).
    const firstMonday = 4 * DAY_MS + 9 * HOUR_MS;
    const earliest = opts.startMs - SPAN_MS - 2 * SPRINT_MS;
    this.sprintAnchor = firstMonday + Math.floor((earliest - firstMonday) / SPRINT_MS) * SPRINT_MS;
    this.activeSprint = this.sprintOf(opts.startMs);

    const br = new Rng(hash32(this.seed, 0, S_BULK));
    const bulk: number[] = [];
    for (let k = 0; k < 400; k++) {
      bulk.push(Math.floor((opts.startMs - SPAN_MS + br.next() * (SPAN_MS - 2 * MINUTE_MS)) / MINUTE_MS) * MINUTE_MS);
    }
    this.bulkMinutes = bulk.sort((a, b) => a - b);

    this.ensureCapacity(Math.max(16, opts.issues));
    this.populate(opts.issues, undefined);
  }

  /**
   * Adds `n` issues with a past (created over the year before `startMs`, most edited since, in
   * every status), as the constructor does; `projects` limits them to these project indices.
   * Returns their indices.
   */
  populate(n: number, projects: readonly number[] | undefined): number[] {
    const out: number[] = [];
    for (let k = 0; k < n; k++) {
      const i = this.size;
      const created = this.startMs - SPAN_MS + ((k + 0.1 + 0.8 * new Rng(hash32(this.seed, i, S_TIMES, 1)).next()) / n) * (SPAN_MS - 2 * HOUR_MS);
      const project = projects === undefined || projects.length === 0 ? undefined : projects[new Rng(hash32(this.seed, i, S_LAYOUT, 2)).int(projects.length)];
      out.push(this.addIssue(project, Math.floor(created), true));
    }
    this.sorted.length = 0;
    for (let i = 0; i < this.size; i++) if (this.deleted[i] === 0) this.sorted.push(i);
    this.sorted.sort((a, b) => this.cmpUpdated(a, b));
    if (n > 0) this.mutation++;
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // state

  private ensureCapacity(n: number): void {
    if (n <= this.cap) return;
    const cap = Math.max(n, this.cap * 2);
    const grow = <T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(old: T, make: (c: number) => T): T => {
      const next = make(cap);
      next.set(old as never);
      return next;
    };
    this.proj = grow(this.proj, (c) => new Uint8Array(c));
    this.num = grow(this.num, (c) => new Uint32Array(c));
    this.type = grow(this.type, (c) => new Uint8Array(c));
    this.parent = grow(this.parent, (c) => new Int32Array(c));
    this.created = grow(this.created, (c) => new Float64Array(c));
    this.updated = grow(this.updated, (c) => new Float64Array(c));
    this.version = grow(this.version, (c) => new Uint32Array(c));
    this.deleted = grow(this.deleted, (c) => new Uint8Array(c));
    this.lastViewed = grow(this.lastViewed, (c) => new Float64Array(c));
    this.watchBump = grow(this.watchBump, (c) => new Uint32Array(c));
    this.statusChanged = grow(this.statusChanged, (c) => new Float64Array(c));
    this.renderVersion = grow(this.renderVersion, (c) => new Uint32Array(c));
    this.cap = cap;
  }

  /** Adds one issue; `initial` issues get a history (updated later than created), new ones do not. */
  private addIssue(project: number | undefined, createdMs: number, initial: boolean): number {
    const i = this.size;
    this.ensureCapacity(i + 1);
    const r = new Rng(hash32(this.seed, i, S_LAYOUT));
    const weights = this.projects.map((_, k) => this.projects.length - k + 1);
    const p = project ?? r.weighted(weights);
    const list = this.byNumber[p] ?? [];
    list.push(i);
    this.proj[i] = p;
    this.num[i] = list.length;

    let type = [T_STORY, T_BUG, T_TASK, T_EPIC, T_SUBTASK][r.weighted([40, 20, 22, 3, 15])] ?? T_TASK;
    let parent = -1;
    if (type === T_SUBTASK) {
      // A sub-task's parent is a recent standard issue of the same project.
      for (let tries = 0; tries < 8 && parent < 0; tries++) {
        const back = 2 + r.int(40);
        const cand = list[list.length - back];
        if (cand !== undefined && !this.deleted[cand] && (this.type[cand] === T_STORY || this.type[cand] === T_TASK || this.type[cand] === T_BUG)) parent = cand;
      }
      if (parent < 0) type = T_TASK;
    } else if (type !== T_EPIC && r.chance(0.4)) {
      const epics = this.epics[p] ?? [];
      const cand = epics[epics.length - 1 - r.int(Math.min(6, epics.length))];
      if (cand !== undefined && !this.deleted[cand]) parent = cand;
    }
    if (type === T_EPIC) this.epics[p]?.push(i);
    this.type[i] = type;
    this.parent[i] = parent;
    if (type === T_SUBTASK && parent >= 0) {
      const kids = this.children.get(parent);
      if (kids) kids.push(i);
      else this.children.set(parent, [i]);
      // The parent's `subtasks` now lists one more.
      this.bumpRender(parent);
    }

    this.created[i] = createdMs;
    let updated = createdMs;
    let lastViewed = Number.NaN;
    if (initial) {
      const t = new Rng(hash32(this.seed, i, S_TIMES, 2));
      const limit = this.startMs - 1000;
      const roll = t.next();
      if (roll < 0.22) {
        updated = createdMs;
      } else if (roll < 0.5) {
        // A bulk edit or automation run: many issues share this minute, some the exact millisecond.
        const from = lowerBound(this.bulkMinutes, createdMs + MINUTE_MS);
        if (from < this.bulkMinutes.length) {
          const k = from + t.int(this.bulkMinutes.length - from);
          const minute = this.bulkMinutes[k] ?? createdMs;
          updated = t.chance(0.4) ? minute + ((k * 7919) % 60_000) : minute + t.int(60_000);
        } else {
          updated = createdMs + t.next() * (limit - createdMs);
        }
      } else {
        const x = t.next();
        updated = createdMs + x * x * (limit - createdMs);
      }
      updated = Math.floor(Math.min(Math.max(updated, createdMs), limit));
      if (t.chance(0.35)) lastViewed = Math.floor(updated + t.next() * (limit - updated));
    }
    this.updated[i] = updated;
    this.version[i] = 0;
    this.deleted[i] = 0;
    this.lastViewed[i] = lastViewed;
    this.watchBump[i] = 0;
    this.statusChanged[i] = Number.NaN;
    this.renderVersion[i] = 0;
    this.size = i + 1;
    this.live++;
    return i;
  }

  private cmpUpdated(a: number, b: number): number {
    return (this.updated[a] ?? 0) - (this.updated[b] ?? 0) || a - b;
  }

  /** Position of (updatedMs, index) in `sorted` (first position not less than it). */
  sortedPosition(updatedMs: number, index: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.sorted[mid] ?? 0;
      const mu = this.updated[m] ?? 0;
      if (mu < updatedMs || (mu === updatedMs && m < index)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First position in `sorted` whose updated is >= ms (or > ms when `strict`). */
  firstUpdatedAtLeast(ms: number, strict: boolean): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const mu = this.updated[this.sorted[mid] ?? 0] ?? 0;
      if (mu < ms || (strict && mu === ms)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private unsort(i: number): void {
    const pos = this.sortedPosition(this.updated[i] ?? 0, i);
    if (this.sorted[pos] === i) this.sorted.splice(pos, 1);
  }

  private resort(i: number): void {
    this.sorted.splice(this.sortedPosition(this.updated[i] ?? 0, i), 0, i);
  }

  private setUpdated(i: number, ms: number): void {
    this.unsort(i);
    this.updated[i] = ms;
    this.resort(i);
  }

  private bumpRender(i: number): void {
    this.renderVersion[i] = ((this.renderVersion[i] ?? 0) + 1) >>> 0;
  }

  isLive(i: number): boolean {
    return i >= 0 && i < this.size && this.deleted[i] === 0;
  }

  projectOfKey(key: string): number | undefined {
    return this.projectIndex.get(key.toUpperCase());
  }

  keyOf(i: number): string {
    return `${this.projects[this.proj[i] ?? 0]?.key ?? "X"}-${this.num[i] ?? 0}`;
  }

  idOf(i: number): string {
    return String(10000 + i);
  }

  /** Issue index for a key (`ENG-42`, any case) or numeric id, live or deleted; -1 when unknown. */
  lookup(idOrKey: string): number {
    const s = idOrKey.trim();
    if (/^\d+$/.test(s)) {
      const i = Number(s) - 10000;
      return i >= 0 && i < this.size ? i : -1;
    }
    const m = /^([A-Za-z][A-Za-z0-9_]*)-(\d+)$/.exec(s);
    if (!m) return -1;
    const p = this.projectOfKey(m[1] ?? "");
    if (p === undefined) return -1;
    return this.byNumber[p]?.[Number(m[2]) - 1] ?? -1;
  }

  // ------------------------------------------------------------------------------------------
  // control operations

  /**
   * Picks `count` distinct live issues, deterministically from the seed and a call counter.
   * `leavesOnly` skips epics and issues with sub-tasks, so that deleting `count` issues deletes
   * exactly that many (deleting a parent takes its sub-tasks with it).
   */
  pickLive(count: number, leavesOnly = false): number[] {
    const ok = (i: number): boolean =>
      this.deleted[i] === 0 && (!leavesOnly || (this.type[i] !== T_EPIC && !(this.children.get(i) ?? []).some((k) => this.deleted[k] === 0)));
    const want = Math.min(Math.max(0, Math.floor(count)), this.live);
    const r = new Rng(hash32(this.seed, ++this.controlCounter, S_CONTROL));
    const chosen = new Set<number>();
    let attempts = 0;
    while (chosen.size < want && attempts < want * 20 + 100) {
      attempts++;
      const i = r.int(this.size);
      if (ok(i)) chosen.add(i);
    }
    for (let i = 0; chosen.size < want && i < this.size; i++) if (ok(i)) chosen.add(i);
    return [...chosen];
  }

  /** Resolves keys (or ids) to live issue indices, dropping unknown and deleted ones. */
  resolveLive(keys: readonly string[]): number[] {
    const out: number[] = [];
    const seen = new Set<number>();
    for (const k of keys) {
      const i = this.lookup(String(k));
      if (this.isLive(i) && !seen.has(i)) {
        seen.add(i);
        out.push(i);
      }
    }
    return out;
  }

  /** A real edit: bumps the version until the visible content differs, sets `updated` = now. */
  touch(i: number, now: number): void {
    const before = this.contentSignature(i);
    const from = this.version[i] ?? 0;
    let v = from;
    for (let guard = 0; guard < 20; guard++) {
      v++;
      this.version[i] = v;
      if (this.contentSignature(i) !== before) break;
    }
    if (this.lastChange(i, v, A_STATUS) > from) this.statusChanged[i] = now;
    this.setUpdated(i, Math.max(now, this.created[i] ?? now));
    this.bumpRender(i);
    this.mutation++;
  }

  /** A view and a new watcher: changes only `lastViewed` and `watches.watchCount`. */
  touchVolatile(i: number, now: number): void {
    this.lastViewed[i] = now;
    this.watchBump[i] = (this.watchBump[i] ?? 0) + 1;
    this.bumpRender(i);
  }

  /** Deletes an issue and (as Jira does) its sub-tasks; returns every deleted index. */
  remove(i: number): number[] {
    if (!this.isLive(i)) return [];
    const out = [i];
    this.deleted[i] = 1;
    this.bumpRender(i);
    this.live--;
    this.unsort(i);
    for (const kid of this.children.get(i) ?? []) out.push(...this.remove(kid));
    this.mutation++;
    return out;
  }

  create(project: number | undefined, now: number): number {
    const i = this.addIssue(project, now, false);
    this.resort(i);
    this.mutation++;
    return i;
  }

  setUpdatedMs(i: number, ms: number): void {
    this.setUpdated(i, ms);
    this.bumpRender(i);
    this.mutation++;
  }

  // ------------------------------------------------------------------------------------------
  // generation

  private changedAt(i: number, w: number, attr: number): boolean {
    if (w === 0) return true;
    const h = hash32(this.seed, i, S_CHANGE, w);
    const bits = [(h & 0xff) < 128, ((h >>> 8) & 0xff) < 150, ((h >>> 16) & 0xff) < 77, ((h >>> 24) & 0xff) < 64, (h & 0x7) === 0];
    if (!bits.some(Boolean)) return attr === A_STATUS;
    return bits[attr] ?? false;
  }

  private lastChange(i: number, v: number, attr: number): number {
    for (let w = v; w > 0; w--) if (this.changedAt(i, w, attr)) return w;
    return 0;
  }

  private isInitial(i: number): boolean {
    return (this.created[i] ?? 0) < this.startMs;
  }

  private mutable(i: number, v = this.version[i] ?? 0): Mutable {
    const type = this.type[i] ?? T_TASK;
    const wSummary = this.lastChange(i, v, A_SUMMARY);
    const summary = summaryFor(type, new Rng(hash32(this.seed, i, S_SUMMARY, wSummary)));

    const wStatus = this.lastChange(i, v, A_STATUS);
    const rs = new Rng(hash32(this.seed, i, S_STATUS, wStatus));
    let status: number;
    if (wStatus === 0) {
      if (!this.isInitial(i)) status = ST_TODO;
      else {
        const age = (this.startMs - (this.created[i] ?? 0)) / SPAN_MS;
        const pDone = Math.min(0.88, 0.15 + age * 1.1);
        if (rs.chance(pDone)) status = rs.chance(0.9) ? ST_DONE : ST_WONTDO;
        else status = [ST_TODO, ST_PROGRESS, ST_REVIEW][rs.weighted([50, 32, 18])] ?? ST_TODO;
      }
    } else {
      status = [ST_TODO, ST_PROGRESS, ST_REVIEW, ST_DONE, ST_WONTDO][rs.weighted([15, 30, 20, 30, 5])] ?? ST_TODO;
    }
    let resolution = -1;
    if (status === ST_WONTDO) resolution = R_WONTDO;
    else if (status === ST_DONE) {
      const roll = rs.next();
      resolution = roll < 0.86 ? R_DONE : roll < 0.93 ? R_DUPLICATE : type === T_BUG ? R_CANNOT : R_DONE;
    }

    const ra = new Rng(hash32(this.seed, i, S_ASSIGNEE, this.lastChange(i, v, A_ASSIGNEE)));
    const assignee = ra.chance(status === ST_TODO ? 0.35 : 0.08) ? -1 : ra.int(USERS.length);

    const rl = new Rng(hash32(this.seed, i, S_LABELS, this.lastChange(i, v, A_LABELS)));
    const labels: string[] = [];
    const nLabels = rl.weighted([40, 32, 18, 10]);
    while (labels.length < nLabels) {
      const l = rl.pick(LABELS);
      if (!labels.includes(l)) labels.push(l);
    }

    const rp = new Rng(hash32(this.seed, i, S_POINTS, this.lastChange(i, v, A_POINTS)));
    let points: number | null = rp.pick([1, 2, 3, 5, 8, 13, 3, 5, 2, 0.5]);
    if (type === T_EPIC || (type === T_SUBTASK && rp.chance(0.8)) || rp.chance(0.15)) points = null;

    const m: Mutable = { summary, status, resolution, assignee, labels, points, statusVersion: wStatus, statusWritten: false };
    const e = this.written.get(i);
    if (e) {
      // A written value stands until a later touch regenerates that attribute.
      if (e.summary && wSummary <= e.summary.at) m.summary = e.summary.value;
      if (e.status && wStatus <= e.status.at) {
        m.status = e.status.value.status;
        m.resolution = e.status.value.resolution;
        m.statusWritten = true;
      }
      if (e.assignee && this.lastChange(i, v, A_ASSIGNEE) <= e.assignee.at) m.assignee = e.assignee.value;
      if (e.labels && this.lastChange(i, v, A_LABELS) <= e.labels.at) m.labels = [...e.labels.value];
      if (e.points && this.lastChange(i, v, A_POINTS) <= e.points.at) m.points = e.points.value;
    }
    return m;
  }

  /** The issue's current editable state (generated values with writes applied). */
  state(i: number): Readonly<IssueState> {
    return this.mutable(i);
  }

  /** Index into PRIORITIES of the issue's priority. */
  priorityIndex(i: number): number {
    return this.priorityOf(i);
  }

  /**
   * Applies a write; `updated` becomes `updatedMs` (what Jira does on every edit and transition).
   * The render cache and cached search results see it through the render version and `mutation`.
   */
  edit(i: number, e: IssueEdit, updatedMs: number): void {
    const at = this.version[i] ?? 0;
    const w = this.written.get(i) ?? {};
    if (e.summary !== undefined) w.summary = { value: e.summary, at };
    if (e.status !== undefined) {
      if (this.mutable(i).status !== e.status.status) this.statusChanged[i] = updatedMs;
      w.status = { value: { ...e.status }, at };
    }
    if (e.assignee !== undefined) w.assignee = { value: e.assignee, at };
    if (e.labels !== undefined) w.labels = { value: [...e.labels], at };
    if (e.points !== undefined) w.points = { value: e.points, at };
    if (e.priority !== undefined) w.priority = e.priority;
    if (e.description !== undefined) w.description = e.description;
    if (e.duedate !== undefined) w.duedate = e.duedate;
    this.written.set(i, w);
    this.setUpdated(i, updatedMs);
    this.bumpRender(i);
    this.mutation++;
  }

  /** Largest `updated` among live issues (epoch ms), or NaN when there are none. */
  maxUpdatedMs(): number {
    const last = this.sorted[this.sorted.length - 1];
    return last === undefined ? Number.NaN : (this.updated[last] ?? Number.NaN);
  }

  private contentSignature(i: number): string {
    const m = this.mutable(i);
    return JSON.stringify([m.summary, m.status, m.resolution, m.assignee, m.labels, m.points]);
  }

  private sprintOf(ms: number): number {
    return Math.floor((ms - this.sprintAnchor) / SPRINT_MS);
  }

  private readonly sprintCache = new Map<number, string>();

  private sprintJson(p: number, s: number): string {
    const cacheKey = s * 256 + p;
    const hit = this.sprintCache.get(cacheKey);
    if (hit !== undefined) return hit;
    const start = this.sprintAnchor + s * SPRINT_MS;
    const end = start + SPRINT_MS;
    const key = this.projects[p]?.key ?? "X";
    const state = s < this.activeSprint ? "closed" : s === this.activeSprint ? "active" : "future";
    const out: Record<string, unknown> = {
      id: s * this.projects.length + p + 1,
      name: `${key} Sprint ${s + 1}`,
      state,
      boardId: p + 1,
      goal: s % 3 === 0 ? "Ship the release candidate" : "",
      startDate: isoUtc(start),
      endDate: isoUtc(end),
    };
    if (state === "closed") out["completeDate"] = isoUtc(end + 37 * MINUTE_MS + (s % 7) * 1000);
    const json = JSON.stringify(out);
    this.sprintCache.set(cacheKey, json);
    return json;
  }

  private resolutionDate(i: number, m: Mutable): number | null {
    if (m.resolution < 0) return null;
    const created = this.created[i] ?? 0;
    const updated = this.updated[i] ?? created;
    let t: number;
    const moved = m.statusVersion > 0 || m.statusWritten;
    if (moved) t = this.statusChanged[i] ?? Number.NaN;
    else t = Number.NaN;
    if (!Number.isFinite(t)) {
      const r = new Rng(hash32(this.seed, i, S_STATUS, 99));
      t = moved ? updated : created + (updated - created) * (0.6 + 0.4 * r.next());
    }
    return Math.floor(Math.min(Math.max(t, created), updated));
  }

  /** `{id,key,self,fields:{summary,status,priority,issuetype}}`: how parents, sub-tasks and links appear. */
  private issueRef(cat: SiteCatalog, j: number, deps: number[] | undefined): string {
    deps?.push(j);
    const m = this.mutable(j);
    const id = this.idOf(j);
    return (
      `{"id":"${id}","key":"${this.keyOf(j)}","self":"${cat.base}/rest/api/3/issue/${id}","fields":{"summary":${JSON.stringify(m.summary)}` +
      `,"status":${cat.json.statuses[m.status] ?? "null"},"priority":${cat.json.priorities[this.priorityOf(j)] ?? "null"}` +
      `,"issuetype":${cat.json.issueTypes[this.type[j] ?? T_TASK] ?? "null"}}}`
    );
  }

  private priorityOf(i: number): number {
    const written = this.written.get(i)?.priority;
    if (written !== undefined) return written;
    const r = new Rng(hash32(this.seed, i, S_STATIC, 1));
    return r.weighted([4, 14, 55, 20, 7]);
  }

  /** The issue as Jira would render it with the given field selection (parsed). */
  render(i: number, cat: SiteCatalog, sel: FieldSelection, zone: ZoneClock): Record<string, unknown> {
    return JSON.parse(this.renderJson(i, cat, sel, zone)) as Record<string, unknown>;
  }

  /**
   * The issue's JSON text as Jira would send it with the given field selection. `deps`, when
   * given, receives every other (live) issue whose current state the text embeds.
   */
  renderJson(i: number, cat: SiteCatalog, sel: FieldSelection, zone: ZoneClock, deps?: number[]): string {
    const id = this.idOf(i);
    if (!sel.envelope) return `{"id":"${id}"}`;
    const key = this.keyOf(i);
    const api = `${cat.base}/rest/api/3`;
    let out = `{"expand":"${SEARCH_EXPAND}","id":"${id}","self":"${api}/issue/${id}","key":"${key}"`;
    if (sel.idOnly) return out + "}";
    // Flat pieces joined once: cheaper than growing a string (no cons-string flattening).
    const pieces: string[] = [out, ',"fields":{'];
    let first = true;
    const put = (name: string, json: string): void => {
      pieces.push(first ? fieldKey(name) : fieldKeyComma(name), json);
      first = false;
    };
    const w = (fid: string): boolean => sel.wants(fid);
    const J = cat.json;

    const p = this.proj[i] ?? 0;
    const type = this.type[i] ?? T_TASK;
    const m = this.mutable(i);
    const created = this.created[i] ?? 0;
    const updated = this.updated[i] ?? created;
    const st = new Rng(hash32(this.seed, i, S_STATIC, 2));
    // Static draws, always in this order whatever is requested.
    const reporter = st.int(USERS.length);
    const creatorRoll = st.next();
    const priority = this.priorityOf(i);
    const componentRoll = st.next();
    const componentA = st.int(COMPONENTS_PER_PROJECT);
    const componentB = st.int(COMPONENTS_PER_PROJECT);
    const dueRoll = st.next();
    const dueDays = 7 + st.int(60);
    const estimateRoll = st.next();
    const estimate = st.pick([7200, 14400, 28800, 57600, 115200]);
    const spentFrac = st.next();
    const watchBase = 1 + st.int(4);
    const votes = st.chance(0.1) ? 1 + st.int(5) : 0;
    const teamRoll = st.next();
    const team = st.int(5);
    const teamTextRoll = st.next();
    const severity = st.weighted([5, 25, 50, 20]);
    const impactRoll = st.next();
    const impactA = st.int(4);
    const impactB = st.int(4);
    const targetRoll = st.next();
    const targetDays = st.int(40);
    const urlRoll = st.next();
    const qaRoll = st.next();
    const qa = st.int(USERS.length);
    const affectsRoll = st.next();
    const affects = st.int(4);
    const linkRoll = st.next();

    const hasEstimate = estimateRoll < 0.2;
    const spent = hasEstimate && spentFrac > 0.3 ? Math.round((estimate * spentFrac) / 3600) * 3600 : 0;
    const remaining = hasEstimate ? Math.max(0, estimate - spent) : 0;
    const resolved = this.resolutionDate(i, m);
    const num = (n: number | null): string => (n === null ? "null" : String(n));

    if (w("statuscategorychangedate")) {
      const category = STATUSES[m.status]?.category;
      let t: number;
      if (resolved !== null) t = resolved;
      else if (m.statusVersion > 0 || m.statusWritten) t = this.statusChanged[i] ?? updated;
      else t = category === 2 ? created : created + (updated - created) * 0.3;
      if (!Number.isFinite(t)) t = updated;
      put("statuscategorychangedate", `"${zone.formatJira(Math.floor(t))}"`);
    }
    if (w("parent")) {
      // A deleted epic leaves its children without a parent, as in Jira.
      const par = this.parent[i] ?? -1;
      if (par >= 0 && this.isLive(par)) put("parent", this.issueRef(cat, par, deps));
    }
    if (w("issuetype")) put("issuetype", J.issueTypes[type] ?? "null");
    if (w("timespent")) put("timespent", spent > 0 ? String(spent) : "null");
    if (w("project")) put("project", J.projects[p] ?? "null");
    if (w("fixVersions")) {
      let fv = "[]";
      if (resolved !== null && m.resolution === R_DONE) {
        const k = this.versionDates.findIndex((d) => d >= resolved);
        const v = J.versions[p]?.[k];
        if (v !== undefined) fv = `[${v}]`;
      }
      put("fixVersions", fv);
    }
    if (w("aggregatetimespent")) put("aggregatetimespent", spent > 0 ? String(spent) : "null");
    if (w("resolution")) put("resolution", m.resolution >= 0 ? (J.resolutions[m.resolution] ?? "null") : "null");
    if (w("resolutiondate")) put("resolutiondate", resolved === null ? "null" : `"${zone.formatJira(resolved)}"`);
    if (w("workratio")) put("workratio", hasEstimate ? String(Math.round((spent / estimate) * 100)) : "-1");
    if (w("lastViewed")) {
      const lv = this.lastViewed[i] ?? Number.NaN;
      put("lastViewed", Number.isFinite(lv) ? `"${zone.formatJira(lv)}"` : "null");
    }
    if (w("watches")) {
      const watching = reporter === 0 || m.assignee === 0;
      put("watches", `{"self":"${api}/issue/${key}/watchers","watchCount":${watchBase + (this.watchBump[i] ?? 0)},"isWatching":${watching}}`);
    }
    if (w("created")) put("created", `"${zone.formatJira(created)}"`);
    if (w("priority")) put("priority", J.priorities[priority] ?? "null");
    if (w("labels")) put("labels", JSON.stringify(m.labels));
    if (w("timeestimate")) put("timeestimate", hasEstimate ? String(remaining) : "null");
    if (w("aggregatetimeoriginalestimate")) put("aggregatetimeoriginalestimate", hasEstimate ? String(estimate) : "null");
    if (w("versions")) {
      const v = J.versions[p]?.[affects];
      put("versions", type === T_BUG && affectsRoll < 0.2 && v !== undefined ? `[${v}]` : "[]");
    }
    if (w("issuelinks")) {
      let links = "[]";
      if (linkRoll < 0.08) {
        const lr = new Rng(hash32(this.seed, i, S_LINK));
        const other = this.byNumber[p]?.[(this.num[i] ?? 1) - 2 - lr.int(20)];
        if (other !== undefined && this.isLive(other)) {
          const lid = 10000 + i * 3;
          links =
            `[{"id":"${lid}","self":"${api}/issueLink/${lid}","type":{"id":"10003","name":"Relates","inward":"relates to","outward":"relates to","self":"${api}/issueLinkType/10003"}` +
            `,"outwardIssue":${this.issueRef(cat, other, deps)}}]`;
        }
      }
      put("issuelinks", links);
    }
    if (w("assignee")) put("assignee", m.assignee >= 0 ? (J.users[m.assignee] ?? "null") : "null");
    if (w("updated")) put("updated", `"${zone.formatJira(updated)}"`);
    if (w("status")) put("status", J.statuses[m.status] ?? "null");
    if (w("components")) {
      const comps = J.components[p] ?? [];
      put(
        "components",
        componentRoll < 0.55 ? `[${comps[componentA]}]` : componentRoll < 0.65 && componentA !== componentB ? `[${comps[componentA]},${comps[componentB]}]` : "[]",
      );
    }
    if (w("timeoriginalestimate")) put("timeoriginalestimate", hasEstimate ? String(estimate) : "null");
    const written = this.written.get(i);
    if (w("description")) put("description", written?.description ?? descriptionJson(type, new Rng(hash32(this.seed, i, S_DESC)), this.people));
    if (w("timetracking")) {
      put(
        "timetracking",
        hasEstimate
          ? JSON.stringify({
              originalEstimate: jiraDuration(estimate),
              remainingEstimate: jiraDuration(remaining),
              ...(spent > 0 ? { timeSpent: jiraDuration(spent) } : {}),
              originalEstimateSeconds: estimate,
              remainingEstimateSeconds: remaining,
              ...(spent > 0 ? { timeSpentSeconds: spent } : {}),
            })
          : "{}",
      );
    }
    if (w("security")) put("security", "null");
    if (w("attachment")) put("attachment", "[]");
    if (w("aggregatetimeestimate")) put("aggregatetimeestimate", hasEstimate ? String(remaining) : "null");
    if (w("summary")) put("summary", JSON.stringify(m.summary));
    if (w("creator")) put("creator", (creatorRoll < 0.03 ? J.automationUser : creatorRoll < 0.08 ? J.users[(reporter + 1) % USERS.length] : J.users[reporter]) ?? "null");
    if (w("subtasks")) {
      const kids = (this.children.get(i) ?? []).filter((k) => this.isLive(k));
      put("subtasks", `[${kids.map((k) => this.issueRef(cat, k, deps)).join(",")}]`);
    }
    if (w("reporter")) put("reporter", J.users[reporter] ?? "null");
    if (w("aggregateprogress")) put("aggregateprogress", progress(spent, remaining));
    if (w("environment")) put("environment", "null");
    if (w("duedate")) {
      const due = written?.duedate !== undefined ? written.duedate : dueRoll < 0.25 ? zone.formatDate(created + dueDays * DAY_MS) : null;
      put("duedate", due === null ? "null" : `"${due}"`);
    }
    if (w("progress")) put("progress", progress(spent, remaining));
    if (w("comment")) {
      const cr = new Rng(hash32(this.seed, i, S_COMMENT));
      const comments: string[] = [];
      const n = cr.chance(0.08) ? 1 + cr.int(2) : 0;
      for (let k = 0; k < n; k++) {
        const author = J.users[cr.int(USERS.length)] ?? "null";
        const at = zone.formatJira(Math.floor(created + (updated - created) * cr.next()));
        const cid = String(10000 + i * 2 + k);
        comments.push(
          `{"self":"${api}/issue/${id}/comment/${cid}","id":"${cid}","author":${author},"body":${commentBodyJson(cr, this.people)}` +
            `,"updateAuthor":${author},"created":"${at}","updated":"${at}","jsdPublic":true}`,
        );
      }
      put("comment", `{"comments":[${comments.join(",")}],"self":"${api}/issue/${id}/comment","maxResults":${n},"total":${n},"startAt":0}`);
    }
    if (w("votes")) put("votes", `{"self":"${api}/issue/${key}/votes","votes":${votes},"hasVoted":false}`);
    if (w("worklog")) put("worklog", `{"startAt":0,"maxResults":20,"total":0,"worklogs":[]}`);
    if (w("issuerestriction")) put("issuerestriction", `{"issuerestrictions":{},"shouldDisplay":false}`);
    if (w("customfield_10000")) put("customfield_10000", `"{}"`);
    if (w("customfield_10016")) put("customfield_10016", num(m.points));
    if (w("customfield_10019")) put("customfield_10019", `"0|i${(i * 37 + 1000).toString(36).padStart(5, "0")}:"`);
    if (w("customfield_10020")) put("customfield_10020", this.sprints(i, m, p, type, resolved));
    if (w("customfield_10022")) put("customfield_10022", targetRoll < 0.2 ? `"${zone.formatDate(created + targetDays * DAY_MS)}"` : "null");
    if (w("customfield_10026")) put("customfield_10026", this.projects[p]?.companyManaged ? num(m.points) : "null");
    if (w("customfield_10040")) put("customfield_10040", teamRoll < 0.7 ? (J.teamOptions[team] ?? "null") : "null");
    if (w("customfield_10041")) put("customfield_10041", teamTextRoll < 0.4 ? JSON.stringify(teamText(new Rng(hash32(this.seed, i, S_STATIC, 3)))) : "null");
    if (w("customfield_10042")) put("customfield_10042", type === T_BUG ? (J.severityOptions[severity] ?? "null") : "null");
    if (w("customfield_10043")) {
      const o = J.impactOptions;
      put("customfield_10043", impactRoll < 0.2 ? `[${o[impactA]}]` : impactRoll < 0.3 && impactA !== impactB ? `[${o[impactA]},${o[impactB]}]` : "null");
    }
    if (w("customfield_10044")) put("customfield_10044", urlRoll < 0.15 ? `"https://docs.example.com/design/${key}"` : "null");
    if (w("customfield_10045")) put("customfield_10045", qaRoll < 0.1 ? (J.users[qa] ?? "null") : "null");
    pieces.push("}}");
    return pieces.join("");
  }

  private sprints(i: number, m: Mutable, p: number, type: number, resolved: number | null): string {
    if (type === T_EPIC) return "null";
    const r = new Rng(hash32(this.seed, i, S_SPRINT, m.statusVersion));
    const firstSprint = this.sprintOf(this.created[i] ?? 0);
    let s: number;
    if (resolved !== null) {
      if (r.chance(0.12)) return "null";
      s = Math.min(this.sprintOf(resolved), this.activeSprint);
    } else {
      if (r.chance(0.35)) return "null";
      s = r.chance(0.2) ? this.activeSprint + 1 : this.activeSprint;
    }
    s = Math.max(s, firstSprint);
    if (s - 1 >= firstSprint && s <= this.activeSprint && r.chance(0.15)) return `[${this.sprintJson(p, s - 1)},${this.sprintJson(p, s)}]`;
    return `[${this.sprintJson(p, s)}]`;
  }
}

const KEY_CACHE = new Map<string, string>();
const KEY_COMMA_CACHE = new Map<string, string>();

function fieldKey(name: string): string {
  let k = KEY_CACHE.get(name);
  if (k === undefined) KEY_CACHE.set(name, (k = `"${name}":`));
  return k;
}

function fieldKeyComma(name: string): string {
  let k = KEY_COMMA_CACHE.get(name);
  if (k === undefined) KEY_COMMA_CACHE.set(name, (k = `,"${name}":`));
  return k;
}

function progress(spent: number, remaining: number): string {
  const total = spent + remaining;
  return total > 0 ? `{"progress":${spent},"total":${total},"percent":${Math.round((spent / total) * 100)}}` : `{"progress":0,"total":0}`;
}

/** Jira's duration text (8-hour days, 5-day weeks): `1w 2d 4h`. */
export function jiraDuration(seconds: number): string {
  let rest = Math.round(seconds / 60);
  const parts: string[] = [];
  const units: [string, number][] = [["w", 5 * 8 * 60], ["d", 8 * 60], ["h", 60], ["m", 1]];
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${u}`);
    rest -= n * size;
  }
  return parts.length ? parts.join(" ") : "0m";
}

export function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? 0) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

