// The outbox (SPEC §5.4): local edits waiting to be pushed, one row per (issue, field) in
// `pending_changes` with the new value, the value the edit was based on and the issue's content
// hash at that moment. Values are validated here, against what the cache knows, before anything
// is queued: `edit` and `import` never call the tracker.

import type BetterSqlite3 from "better-sqlite3";
import { UsageError } from "../errors.js";
import type { EditableField, FieldValue, NormalisedIssue } from "../providers/provider.js";

export const EDITABLE_FIELDS: readonly EditableField[] = ["title", "description", "status", "priority", "assignee", "labels", "due_date", "story_points"];

export type ChangeState = "pending" | "conflict" | "failed";

/** An issue as the cache holds it: the unified fields edits work on, and whose version it is. */
export type CachedIssue = Pick<NormalisedIssue, "id" | "key" | "project" | EditableField> & {
  connection: string;
  provider: string;
  content_hash: string;
};

export interface PendingChange {
  id: number;
  connection: string;
  issue_id: string;
  key: string;
  field: EditableField;
  new_value: FieldValue;
  base_value: FieldValue;
  base_hash: string;
  state: ChangeState;
  remote_value: FieldValue;
  error: string | null;
  created_at: string;
  updated_at: string;
}

/** A change about to be queued. */
export interface Edit {
  issue: CachedIssue;
  field: EditableField;
  value: FieldValue;
}

export function isEditable(field: string): field is EditableField {
  return (EDITABLE_FIELDS as readonly string[]).includes(field);
}

export function fieldValue(issue: Pick<CachedIssue, EditableField>, field: EditableField): FieldValue {
  const v = issue[field];
  return Array.isArray(v) ? [...v] : (v ?? null);
}

/** Same value as far as the tracker is concerned: label order, line endings and trailing blanks do not count. */
export function sameValue(field: EditableField, a: FieldValue, b: FieldValue): boolean {
  const norm = (v: FieldValue): string => {
    if (v === null || v === "") return "";
    if (Array.isArray(v)) return JSON.stringify([...v].sort());
    if (typeof v === "number") return String(v);
    const s = v.replace(/\r\n?/g, "\n").replace(/[ \t]+$/gm, "").trim();
    return field === "status" ? s.toLowerCase() : s;
  };
  return norm(a) === norm(b);
}

export function showValue(v: FieldValue): string {
  if (v === null || v === "") return "(empty)";
  if (Array.isArray(v)) return v.length ? v.join(", ") : "(none)";
  return String(v);
}

/** The names a field may take in a connection, from what the cache has seen. */
export class Vocabulary {
  private cache = new Map<string, string[]>();
  constructor(private readonly sqlite: BetterSqlite3.Database) {}

  private distinct(sql: string, ...params: unknown[]): string[] {
    const k = sql + "\u0000" + params.join("\u0000");
    let v = this.cache.get(k);
    if (!v) {
      v = (this.sqlite.prepare(sql).pluck().all(...params) as (string | null)[]).filter((x): x is string => typeof x === "string" && x !== "");
      this.cache.set(k, v);
    }
    return v;
  }

  /**
   * Status names seen anywhere in the connection: a project's workflow usually has statuses that
   * none of its cached issues happens to be in right now. The tracker has the last word at push.
   */
  statuses(connection: string): string[] {
    return this.withCatalog(connection, "status", this.distinct("SELECT DISTINCT status FROM issues WHERE connection = ? ORDER BY 1", connection));
  }

  priorities(connection: string): string[] {
    return this.withCatalog(connection, "priority", this.distinct("SELECT DISTINCT priority FROM issues WHERE connection = ? ORDER BY 1", connection));
  }

  /**
   * Adds the names a provider listed in its field catalog (`schema.unified` + `schema.allowedValues`:
   * Redmine's statuses and priorities, GitHub's status names) to those seen on cached issues.
   */
  private withCatalog(connection: string, unified: string, seen: string[]): string[] {
    const k = `catalog\u0000${connection}\u0000${unified}`;
    const cached = this.cache.get(k);
    if (cached) return cached;
    const schemas = this.sqlite.prepare("SELECT schema FROM field_catalog WHERE connection = ? AND schema LIKE '%allowedValues%'").pluck().all(connection) as string[];
    const names = new Set(seen);
    for (const text of schemas) {
      const schema = JSON.parse(text) as { unified?: unknown; allowedValues?: unknown };
      if (schema.unified === unified && Array.isArray(schema.allowedValues)) for (const v of schema.allowedValues) if (typeof v === "string") names.add(v);
    }
    const all = [...names].sort();
    this.cache.set(k, all); // an import asks once per row: read the catalog once
    return all;
  }

  people(connection: string): string[] {
    return this.distinct("SELECT assignee FROM issues WHERE connection = ? UNION SELECT reporter FROM issues WHERE connection = ? ORDER BY 1", connection, connection);
  }
}

function pick(what: string, value: string, known: string[], where: string): string {
  if (!known.length) return value; // nothing seen yet: the tracker decides at push time
  const hit = known.find((k) => k.toLowerCase() === value.toLowerCase());
  if (hit) return hit;
  const shown = known.length > 12 ? `${known.slice(0, 12).join(", ")}, …` : known.join(", ");
  throw new UsageError(`unknown ${what} "${value}"${where}`, { hint: `known: ${shown}` });
}

/**
 * Checks and normalises a value given as text (a flag, a CSV cell) or as JSON (an import).
 * Names are matched without regard to case and returned as the tracker spells them.
 */
export function parseValue(field: EditableField, input: unknown, issue: CachedIssue, vocab: Vocabulary): FieldValue {
  const text = (v: unknown): string | null => {
    if (v === null || v === undefined) return null;
    if (typeof v === "string") return v.trim() === "" ? null : v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    throw new UsageError(`${field} takes text, not ${JSON.stringify(v)}`);
  };
  switch (field) {
    case "title": {
      const t = text(input)?.trim() ?? null;
      if (!t) throw new UsageError("title cannot be empty");
      return t;
    }
    case "description":
      return text(input);
    case "status": {
      const t = text(input)?.trim() ?? null;
      if (!t) throw new UsageError("status cannot be empty");
      return pick("status", t, vocab.statuses(issue.connection), ` in connection "${issue.connection}"`);
    }
    case "priority": {
      const t = text(input)?.trim() ?? null;
      return t === null ? null : pick("priority", t, vocab.priorities(issue.connection), "");
    }
    case "assignee": {
      const t = text(input)?.trim() ?? null;
      return t === null ? null : pick("user", t, vocab.people(issue.connection), ` in connection "${issue.connection}"`);
    }
    case "labels": {
      const list = Array.isArray(input) ? input : typeof input === "string" ? input.split(/[;,]/) : input === null || input === undefined ? [] : null;
      if (!list) throw new UsageError(`labels take a list, not ${JSON.stringify(input)}`);
      const labels = list.map((l) => (typeof l === "string" ? l.trim() : String(l))).filter(Boolean);
      const spaced = labels.find((l) => /\s/.test(l));
      if (spaced) throw new UsageError(`label "${spaced}" contains a space (trackers do not allow that)`);
      return [...new Set(labels)];
    }
    case "due_date": {
      const t = text(input)?.trim() ?? null;
      if (t === null) return null;
      const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
      const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
      if (!m || !d || d.getUTCMonth() !== Number(m[2]) - 1 || d.getUTCDate() !== Number(m[3])) {
        throw new UsageError(`"${t}" is not a date`, { hint: "use YYYY-MM-DD, e.g. 2027-03-31" });
      }
      return t;
    }
    case "story_points": {
      if (input === null || input === undefined || input === "") return null;
      const n = typeof input === "number" ? input : Number(String(input).trim().replace(",", "."));
      if (!Number.isFinite(n) || n < 0) throw new UsageError(`story_points takes a number ≥ 0, not ${JSON.stringify(input)}`);
      return n;
    }
  }
}

const ISSUE_SELECT = `SELECT connection, provider, id, key, project, title, description, status, priority, assignee, labels, due_date, story_points, content_hash
  FROM issues WHERE deleted_at IS NULL`;

function toCached(row: Record<string, unknown>): CachedIssue {
  return { ...(row as unknown as CachedIssue), labels: JSON.parse(String(row.labels ?? "[]")) as string[] };
}

/** Finds an issue by key (as a person types it), in one connection or across all of them. */
export function findIssue(sqlite: BetterSqlite3.Database, key: string, connection?: string): CachedIssue {
  const rows = (
    connection
      ? sqlite.prepare(`${ISSUE_SELECT} AND connection = ? AND key = ?`).all(connection, key)
      : sqlite.prepare(`${ISSUE_SELECT} AND key = ?`).all(key)
  ) as Record<string, unknown>[];
  if (rows.length === 1) return toCached(rows[0]!);
  if (rows.length > 1) {
    throw new UsageError(`"${key}" exists in several connections (${rows.map((r) => r.connection).join(", ")})`, { hint: "choose one with --connection" });
  }
  throw new UsageError(`no issue "${key}" in the cache${connection ? ` of connection "${connection}"` : ""}`, {
    hint: "keys look like PROJ-123, owner/repo#123, ENG-123 or #123; run `pmsync sync` if it is new",
  });
}

export class Outbox {
  constructor(private readonly sqlite: BetterSqlite3.Database) {}

  /**
   * Queues edits in one transaction. An edit to a field that already has a queued change
   * replaces its new value and keeps the original base; an edit back to the base drops it.
   */
  queue(edits: Edit[]): { queued: number; dropped: number } {
    let queued = 0;
    let dropped = 0;
    const now = new Date().toISOString();
    const find = this.sqlite.prepare("SELECT id, base_value FROM pending_changes WHERE connection = ? AND issue_id = ? AND field = ?");
    const insert = this.sqlite.prepare(
      `INSERT INTO pending_changes (connection, issue_id, key, field, new_value, base_value, base_hash, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
    );
    const update = this.sqlite.prepare("UPDATE pending_changes SET new_value = ?, state = 'pending', remote_value = NULL, error = NULL, updated_at = ? WHERE id = ?");
    const remove = this.sqlite.prepare("DELETE FROM pending_changes WHERE id = ?");
    this.sqlite
      .transaction(() => {
        for (const e of edits) {
          const prev = find.get(e.issue.connection, e.issue.id, e.field) as { id: number; base_value: string | null } | undefined;
          const base = prev ? decode(prev.base_value) : fieldValue(e.issue, e.field);
          if (sameValue(e.field, base, e.value)) {
            if (prev) {
              remove.run(prev.id);
              dropped++;
            }
            continue;
          }
          if (prev) update.run(encode(e.value), now, prev.id);
          else insert.run(e.issue.connection, e.issue.id, e.issue.key, e.field, encode(e.value), encode(base), e.issue.content_hash, now, now);
          queued++;
        }
      })
      .immediate();
    return { queued, dropped };
  }

  list(connections: string[] = []): PendingChange[] {
    const filter = connections.length ? `WHERE connection IN (${connections.map(() => "?").join(", ")})` : "";
    const rows = this.sqlite.prepare(`SELECT * FROM pending_changes ${filter} ORDER BY connection, key, id`).all(...connections) as Record<string, unknown>[];
    return rows.map((r) => ({
      ...(r as unknown as PendingChange),
      new_value: decode(r.new_value as string | null),
      base_value: decode(r.base_value as string | null),
      remote_value: decode(r.remote_value as string | null),
    }));
  }

  /** The queued value for one field of an issue, if any (so `edit --add-label` builds on it). */
  queuedValue(connection: string, issueId: string, field: EditableField): FieldValue | undefined {
    const row = this.sqlite.prepare("SELECT new_value FROM pending_changes WHERE connection = ? AND issue_id = ? AND field = ?").get(connection, issueId, field) as
      | { new_value: string | null }
      | undefined;
    return row ? decode(row.new_value) : undefined;
  }

  mark(id: number, state: ChangeState, remote: FieldValue | undefined, error: string | null): void {
    this.sqlite
      .prepare("UPDATE pending_changes SET state = ?, remote_value = ?, error = ?, updated_at = ? WHERE id = ?")
      .run(state, remote === undefined ? null : encode(remote), error, new Date().toISOString(), id);
  }

  remove(ids: number[]): number {
    if (!ids.length) return 0;
    const stmt = this.sqlite.prepare("DELETE FROM pending_changes WHERE id = ?");
    let n = 0;
    this.sqlite.transaction(() => ids.forEach((id) => (n += stmt.run(id).changes))).immediate();
    return n;
  }

  /** Drops queued changes by key (all connections, or one) or everything; returns how many. */
  discard(keys: string[], connection?: string): number {
    const conn = connection ? " AND connection = ?" : "";
    const stmt = this.sqlite.prepare(`DELETE FROM pending_changes WHERE key = ?${conn}`);
    let n = 0;
    this.sqlite
      .transaction(() => {
        for (const k of keys) n += (connection ? stmt.run(k, connection) : stmt.run(k)).changes;
      })
      .immediate();
    return n;
  }

  discardAll(connection?: string): number {
    return connection
      ? this.sqlite.prepare("DELETE FROM pending_changes WHERE connection = ?").run(connection).changes
      : this.sqlite.prepare("DELETE FROM pending_changes").run().changes;
  }
}

// Values are stored as JSON text so that null, "" and lists stay what they were.
export function encode(v: FieldValue): string | null {
  return v === null ? null : JSON.stringify(v);
}

export function decode(v: string | null): FieldValue {
  return v === null ? null : (JSON.parse(v) as FieldValue);
}
