// What the sync engine asks of the cache. Each page is written in one transaction together with
// the usage counts and the cursor, so a killed sync resumes from the last committed page.
// Prepared better-sqlite3 statements: this is the hot path of a 100,000-issue pull.

import { hostname } from "node:os";
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import type BetterSqlite3 from "better-sqlite3";
import { LockedError } from "../errors.js";
import type { UsageDelta } from "../http/usage.js";
import type { FieldChange, FieldDef, NormalisedIssue } from "../providers/provider.js";
import { Checkpointer } from "./checkpointer.js";
import type { Store } from "./db.js";
import type { SyncRunRow, SyncStateRow } from "./schema.js";

export interface PreparedRecord {
  issue: NormalisedIssue;
  updatedMs: number;
  /** Canonical JSON of the payload minus volatile members, as UTF-8: stored as `raw`, hashed. */
  raw: Uint8Array;
  hash: string;
  project?: { key: string; id: string | null; name: string | null };
}

export interface PageOutcome {
  created: number;
  updated: number;
  unchanged: number;
}

/** Unified columns compared for the change log (updated_at moves with every edit: left out). */
const DIFF_COLUMNS = [
  "key", "project", "type", "title", "description", "status", "status_category", "priority", "assignee",
  "reporter", "labels", "parent", "sprint", "story_points", "due_date", "resolved_at",
] as const;

/**
 * The written columns, bound by position (a named binding looks each of them up on a row object:
 * ~2 µs more per row of 26 columns on the hot path): the order of `issueValues` below.
 */
const ISSUE_COLUMNS = [
  "provider", "key", "url", "project", "type", "title", "description", "status", "status_category", "priority",
  "assignee", "reporter", "labels", "parent", "sprint", "story_points", "due_date", "created_at", "updated_at",
  "resolved_at", "deleted_at", "content_hash", "synced_at", "raw", "connection", "id",
] as const;

/** A record's values in ISSUE_COLUMNS order. */
function issueValues(r: PreparedRecord, connection: string, provider: string, now: string): unknown[] {
  const i = r.issue;
  return [
    provider, i.key, i.url, i.project, i.type, i.title, i.description, i.status, i.status_category, i.priority,
    i.assignee, i.reporter, JSON.stringify(i.labels), i.parent, i.sprint, i.story_points, i.due_date, i.created_at, i.updated_at,
    i.resolved_at, null, r.hash, now, r.raw, connection, i.id,
  ];
}

const STALE_FOREIGN_LOCK_MS = 15 * 60_000;
/** Issues written between background checkpoints (~8 MB of WAL); a smaller run never starts one. */
const CHECKPOINT_EVERY = 2000;

/** ` AND project IN (?, …)` for a run narrowed to these projects (bound after the connection); empty for none. */
function projectScope(projects: string[]): string {
  return projects.length ? ` AND project IN (${projects.map(() => "?").join(", ")})` : "";
}

function columnValue(issue: NormalisedIssue, col: (typeof DIFF_COLUMNS)[number]): string | null {
  const v = issue[col];
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return JSON.stringify(v);
  return String(v);
}

export class SyncStore {
  private readonly sqlite: BetterSqlite3.Database;
  private readonly s: Record<string, BetterSqlite3.Statement>;
  private lockOwner: string | null = null;
  private seen: BetterSqlite3.Statement | null = null;
  /** Started once a run has written CHECKPOINT_EVERY issues; see store/checkpointer.ts. */
  private checkpointer: Checkpointer | null = null;
  private writtenSinceCheckpoint = 0;
  /** A transaction holding written pages not yet committed (see writePage). */
  private batchOpen = false;
  private batchWritten = 0;

  constructor(
    private readonly store: Store,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.sqlite = store.sqlite;
    const db = this.sqlite;
    // `raw` arrives as UTF-8 bytes (moved from the pull worker without a copy): stored as TEXT.
    const param = (c: string) => (c === "raw" ? "CAST(? AS TEXT)" : "?");
    const sets = ISSUE_COLUMNS.slice(0, -2).map((c) => `${c} = ${param(c)}`).join(", ");
    this.s = {
      hashOf: db.prepare("SELECT content_hash, deleted_at FROM issues WHERE connection = ? AND id = ?"),
      oldRow: db.prepare(`SELECT ${DIFF_COLUMNS.join(", ")}, raw FROM issues WHERE connection = ? AND id = ?`),
      insert: db.prepare(`INSERT INTO issues (${ISSUE_COLUMNS.join(", ")}) VALUES (${ISSUE_COLUMNS.map(param).join(", ")})`),
      // The same values: the last two, connection and id, pick the row.
      update: db.prepare(`UPDATE issues SET ${sets} WHERE connection = ? AND id = ?`),
      change: db.prepare(
        "INSERT INTO issue_changes (connection, issue_id, key, sync_run_id, changed_at, field, old_value, new_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      project: db.prepare(
        "INSERT INTO projects (connection, key, remote_id, name, first_seen_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (connection, key) DO NOTHING",
      ),
      usage: db.prepare(`INSERT INTO api_usage (connection, day, endpoint, status, requests, errors, retries, rate_limit_waits, wait_ms, bytes_in, bytes_out, rate_limit, rate_remaining, rate_reset, last_seen_at)
        VALUES (@connection, @day, @endpoint, @status, @requests, @errors, @retries, @rate_limit_waits, @wait_ms, @bytes_in, @bytes_out, @rate_limit, @rate_remaining, @rate_reset, @last_seen_at)
        ON CONFLICT (connection, day, endpoint, status) DO UPDATE SET
          requests = api_usage.requests + excluded.requests, errors = api_usage.errors + excluded.errors,
          retries = api_usage.retries + excluded.retries, rate_limit_waits = api_usage.rate_limit_waits + excluded.rate_limit_waits,
          wait_ms = api_usage.wait_ms + excluded.wait_ms, bytes_in = api_usage.bytes_in + excluded.bytes_in,
          bytes_out = api_usage.bytes_out + excluded.bytes_out,
          rate_limit = COALESCE(excluded.rate_limit, api_usage.rate_limit),
          rate_remaining = COALESCE(excluded.rate_remaining, api_usage.rate_remaining),
          rate_reset = COALESCE(excluded.rate_reset, api_usage.rate_reset),
          last_seen_at = excluded.last_seen_at`),
      cursor: db.prepare("UPDATE sync_state SET cursor = ?, lock_heartbeat_at = ? WHERE connection = ?"),
      heartbeat: db.prepare("UPDATE sync_state SET lock_heartbeat_at = ? WHERE connection = ?"),
    };
  }

  // ---- connections, state, runs ----------------------------------------------------------

  upsertConnection(name: string, provider: string, site: string): void {
    const now = new Date().toISOString();
    this.sqlite
      .prepare(
        `INSERT INTO connections (name, provider, site, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET provider = excluded.provider, site = excluded.site, updated_at = excluded.updated_at
         WHERE connections.provider IS NOT excluded.provider OR connections.site IS NOT excluded.site`,
      )
      .run(name, provider, site, now, now);
    this.sqlite.prepare("INSERT INTO sync_state (connection) VALUES (?) ON CONFLICT (connection) DO NOTHING").run(name);
  }

  state(connection: string): SyncStateRow | undefined {
    return this.sqlite.prepare("SELECT * FROM sync_state WHERE connection = ?").get(connection) as SyncStateRow | undefined;
  }

  startRun(connection: string, provider: string, mode: string, startedAt: string): number {
    const r = this.sqlite
      .prepare("INSERT INTO sync_runs (connection, provider, mode, status, started_at) VALUES (?, ?, ?, 'running', ?)")
      .run(connection, provider, mode, startedAt);
    return Number(r.lastInsertRowid);
  }

  finishRun(id: number, fields: Partial<SyncRunRow>): void {
    const keys = Object.keys(fields);
    if (!keys.length) return;
    this.sqlite
      .prepare(`UPDATE sync_runs SET ${keys.map((k) => `${k} = @${k}`).join(", ")} WHERE id = @id`)
      .run({ ...fields, id });
  }

  recordOutcome(connection: string, ok: boolean, fullAt: string | null): void {
    if (ok) {
      this.sqlite
        .prepare("UPDATE sync_state SET consecutive_failures = 0, last_full_at = COALESCE(?, last_full_at) WHERE connection = ?")
        .run(fullAt, connection);
    } else {
      this.sqlite.prepare("UPDATE sync_state SET consecutive_failures = consecutive_failures + 1 WHERE connection = ?").run(connection);
    }
  }

  knownProjects(connection: string): Set<string> {
    return new Set(this.sqlite.prepare("SELECT key FROM projects WHERE connection = ?").pluck().all(connection) as string[]);
  }

  /** Stores the field catalog when it changed; returns true if it did. */
  saveCatalog(connection: string, catalog: FieldDef[], fingerprint: string): boolean {
    const st = this.state(connection);
    if (st?.catalog_fingerprint === fingerprint) return false;
    const now = new Date().toISOString();
    const tx = this.sqlite.transaction(() => {
      this.sqlite.prepare("DELETE FROM field_catalog WHERE connection = ?").run(connection);
      const ins = this.sqlite.prepare(
        "INSERT INTO field_catalog (connection, source_id, name, type, custom, schema, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      );
      for (const f of catalog) ins.run(connection, f.id, f.name, f.type, f.custom ? 1 : 0, JSON.stringify(f.schema ?? null), now);
      this.sqlite.prepare("UPDATE sync_state SET catalog_fingerprint = ? WHERE connection = ?").run(fingerprint, connection);
    });
    tx.immediate();
    return true;
  }

  flushUsage(connection: string, deltas: UsageDelta[]): void {
    if (!deltas.length) return;
    this.sqlite.transaction(() => this.addUsage(connection, deltas)).immediate();
  }

  private addUsage(connection: string, deltas: UsageDelta[]): void {
    for (const d of deltas) this.s.usage!.run({ connection, ...d });
  }

  // ---- the page write ---------------------------------------------------------------------

  /**
   * Writes one page: new and changed issues, their change log, new projects, the usage counts so
   * far, the seen-ids of a full sweep, and the cursor. An unchanged content hash writes nothing
   * for that issue. The page joins the open batch (a transaction begun by the batch's first
   * page) and, unless `commit` is false, commits it: pages are whole and in order in a batch, so
   * the cursor committed is always that of the last page committed.
   */
  writePage(args: {
    connection: string;
    provider: string;
    runId: number;
    records: PreparedRecord[];
    usage: UsageDelta[];
    cursor: string | null;
    trackSeen: boolean;
    knownProjects: Set<string>;
    rawChanges: (oldRaw: unknown, newRaw: unknown) => FieldChange[];
    dryRun: boolean;
    commit?: boolean;
  }): PageOutcome {
    const out: PageOutcome = { created: 0, updated: 0, unchanged: 0 };
    const s = this.s;
    const run = () => {
      const now = new Date().toISOString();
      for (const r of args.records) {
        const prev = s.hashOf!.get(args.connection, r.issue.id) as { content_hash: string; deleted_at: string | null } | undefined;
        if (args.trackSeen) this.seen!.run(r.issue.id);
        if (prev && prev.content_hash === r.hash && prev.deleted_at === null) {
          out.unchanged++;
          continue;
        }
        if (args.dryRun) {
          if (prev) out.updated++;
          else out.created++;
          continue;
        }
        const values = issueValues(r, args.connection, args.provider, now);
        if (!prev) {
          s.insert!.run(values);
          out.created++;
        } else {
          const old = s.oldRow!.get(args.connection, r.issue.id) as Record<string, unknown> & { raw: string };
          s.update!.run(values);
          out.updated++;
          const changes: FieldChange[] = [];
          for (const col of DIFF_COLUMNS) {
            const before = old[col] === null || old[col] === undefined ? null : String(old[col]);
            const after = columnValue(r.issue, col);
            if (before !== after) changes.push({ field: col, old: before, new: after });
          }
          if (prev.deleted_at !== null) changes.push({ field: "deleted_at", old: prev.deleted_at, new: null });
          changes.push(...args.rawChanges(JSON.parse(old.raw), JSON.parse(Buffer.from(r.raw.buffer, r.raw.byteOffset, r.raw.byteLength).toString())));
          for (const c of changes) s.change!.run(args.connection, r.issue.id, r.issue.key, args.runId, now, c.field, c.old, c.new);
        }
        if (r.project && !args.knownProjects.has(r.project.key)) {
          s.project!.run(args.connection, r.project.key, r.project.id, r.project.name, now);
          args.knownProjects.add(r.project.key);
        }
      }
      // Requests were made even in a dry run: they count.
      this.addUsage(args.connection, args.usage);
      if (args.dryRun) return;
      if (args.cursor !== null) s.cursor!.run(args.cursor, now, args.connection);
      else s.heartbeat!.run(now, args.connection);
    };
    if (!this.batchOpen) {
      // IMMEDIATE: take the write lock first (waiting up to busy_timeout). A deferred transaction
      // that reads and then writes fails at once if another process committed in between.
      this.sqlite.exec("BEGIN IMMEDIATE");
      this.batchOpen = true;
    }
    try {
      run();
    } catch (err) {
      this.rollbackBatch();
      throw err;
    }
    if (!args.dryRun) this.batchWritten += out.created + out.updated;
    if (args.commit !== false) this.commitBatch();
    return out;
  }

  /** Commits the pages written since the last commit; nothing when none are. */
  commitBatch(): void {
    if (!this.batchOpen) return;
    this.sqlite.exec("COMMIT");
    this.batchOpen = false;
    const written = this.batchWritten;
    this.batchWritten = 0;
    this.wrote(written);
  }

  /** Drops the pages written but not committed (a failed run): their cursor goes with them. */
  rollbackBatch(): void {
    if (!this.batchOpen) return;
    this.batchOpen = false;
    this.batchWritten = 0;
    if (this.sqlite.inTransaction) this.sqlite.exec("ROLLBACK");
  }

  private wrote(issues: number): void {
    this.writtenSinceCheckpoint += issues;
    if (this.writtenSinceCheckpoint < CHECKPOINT_EVERY) return;
    this.writtenSinceCheckpoint = 0;
    this.checkpointer ??= new Checkpointer(this.store.path, this.log);
    this.checkpointer.nudge();
  }

  /** After a run's writes: stops the background checkpoints (the rest of the WAL is left to SQLite). */
  async endWrites(): Promise<void> {
    const c = this.checkpointer;
    this.checkpointer = null;
    this.writtenSinceCheckpoint = 0;
    await c?.close();
  }

  /** Whether the connection has issues not marked deleted (in these projects, when any are given). */
  hasLiveIssues(connection: string, projects: string[]): boolean {
    return this.sqlite.prepare(`SELECT 1 FROM issues WHERE connection = ? AND deleted_at IS NULL${projectScope(projects)} LIMIT 1`).get(connection, ...projects) !== undefined;
  }

  beginSeenTracking(): void {
    // In memory: a 100,000-issue sweep would otherwise write a temp file as it goes.
    if (this.sqlite.pragma("temp_store", { simple: true }) !== 2) this.sqlite.pragma("temp_store = MEMORY");
    this.sqlite.exec("CREATE TEMP TABLE IF NOT EXISTS seen_ids (id TEXT PRIMARY KEY); DELETE FROM temp.seen_ids;");
    this.seen = this.sqlite.prepare("INSERT OR IGNORE INTO temp.seen_ids (id) VALUES (?)");
  }

  /**
   * After a complete full listing: marks cached issues that were not seen (deleted, or moved out
   * of scope) as deleted. Never purges. Returns how many were marked.
   */
  markUnseenDeleted(connection: string, runId: number, projects: string[]): number {
    const now = new Date().toISOString();
    const where = `connection = ? AND deleted_at IS NULL AND id NOT IN (SELECT id FROM temp.seen_ids)${projectScope(projects)}`;
    let n = 0;
    this.sqlite.transaction(() => {
      const gone = this.sqlite.prepare(`SELECT id, key FROM issues WHERE ${where}`).all(connection, ...projects) as { id: string; key: string }[];
      const mark = this.sqlite.prepare("UPDATE issues SET deleted_at = ?, synced_at = ? WHERE connection = ? AND id = ?");
      for (const g of gone) {
        mark.run(now, now, connection, g.id);
        this.s.change!.run(connection, g.id, g.key, runId, now, "deleted_at", null, now);
      }
      n = gone.length;
    }).immediate();
    this.sqlite.exec("DELETE FROM temp.seen_ids");
    return n;
  }

  // ---- the per-connection lock ------------------------------------------------------------

  /**
   * Takes the connection's lock, or throws LockedError at once. A lock whose holder died (same
   * host, process gone) or stopped beating (another host, no heartbeat for 15 minutes) is taken over.
   */
  acquireLock(connection: string): void {
    const owner = randomUUID();
    const host = hostname();
    const tx = this.sqlite.transaction(() => {
      const row = this.state(connection);
      if (row?.lock_owner) {
        const stale =
          row.lock_host === host
            ? !processAlive(row.lock_pid ?? -1)
            : Date.now() - Date.parse(row.lock_heartbeat_at ?? row.lock_acquired_at ?? "") > STALE_FOREIGN_LOCK_MS;
        if (!stale) {
          throw new LockedError(
            `another pmsync process (pid ${row.lock_pid} on ${row.lock_host}, since ${row.lock_acquired_at}) is syncing "${connection}"`,
            { hint: "try again later; a lock left by a killed process is taken over automatically" },
          );
        }
      }
      const now = new Date().toISOString();
      this.sqlite
        .prepare("UPDATE sync_state SET lock_owner = ?, lock_pid = ?, lock_host = ?, lock_acquired_at = ?, lock_heartbeat_at = ? WHERE connection = ?")
        .run(owner, process.pid, host, now, now, connection);
    });
    tx.immediate();
    this.lockOwner = owner;
  }

  releaseLock(connection: string): void {
    if (!this.lockOwner) return;
    this.sqlite
      .prepare("UPDATE sync_state SET lock_owner = NULL, lock_pid = NULL, lock_host = NULL, lock_acquired_at = NULL, lock_heartbeat_at = NULL WHERE connection = ? AND lock_owner = ?")
      .run(connection, this.lockOwner);
    this.lockOwner = null;
  }
}

/** Alive and still a pmsync process (guards against a recycled PID). */
function processAlive(pid: number): boolean {
  if (pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("pmsync");
  } catch {
    return true; // no /proc (macOS, Windows): trust kill(0)
  }
}
