// Reading and writing `field_mappings`, `field_catalog` and `mapping_state`, and sampling values
// from the cached payloads. Plain better-sqlite3 statements: every caller runs inside one
// transaction of its own.

import type BetterSqlite3 from "better-sqlite3";
import type { Database } from "../store/schema.js";
import type { MappingAdapter } from "./adapters.js";
import type { Candidate, Scored, SourceField } from "./scorer.js";
import { DECIDED_STATES, isStatusRow, REVIEW_FLOOR, type MappingState } from "./targets.js";

type DB = BetterSqlite3.Database;

/** One `field_mappings` row with its JSON columns parsed. */
export type MappingRow = Omit<Database["field_mappings"], "state" | "reasons" | "candidates"> & {
  state: MappingState;
  reasons: string[];
  candidates: Candidate[];
};

export type MappingStateRow = Database["mapping_state"];

export function readRows(db: DB, connection: string): MappingRow[] {
  const rows = db.prepare("SELECT * FROM field_mappings WHERE connection = ? ORDER BY source_id").all(connection) as Record<string, unknown>[];
  return rows.map((r) => ({
    ...(r as unknown as MappingRow),
    reasons: JSON.parse(String(r.reasons)) as string[],
    candidates: JSON.parse(String(r.candidates)) as Candidate[],
  }));
}

export function writeRow(db: DB, row: MappingRow): void {
  db.prepare(
    `INSERT INTO field_mappings (connection, source_id, source_name, source_type, target, confidence, state, reasons, candidates, fingerprint, decided_at, updated_at)
     VALUES (@connection, @source_id, @source_name, @source_type, @target, @confidence, @state, @reasons, @candidates, @fingerprint, @decided_at, @updated_at)
     ON CONFLICT (connection, source_id) DO UPDATE SET source_name = excluded.source_name, source_type = excluded.source_type,
       target = excluded.target, confidence = excluded.confidence, state = excluded.state, reasons = excluded.reasons,
       candidates = excluded.candidates, fingerprint = excluded.fingerprint, decided_at = excluded.decided_at, updated_at = excluded.updated_at`,
  ).run({ ...row, reasons: JSON.stringify(row.reasons), candidates: JSON.stringify(row.candidates) });
}

export function deleteRow(db: DB, connection: string, sourceId: string): void {
  db.prepare("DELETE FROM field_mappings WHERE connection = ? AND source_id = ?").run(connection, sourceId);
}

/** A scored result as a row (no user decision). */
export function scoredRow(connection: string, s: Scored, fingerprint: string, now: string): MappingRow {
  return { connection, ...s, fingerprint, decided_at: null, updated_at: now };
}

export const isDecided = (r: Pick<MappingRow, "state">): boolean => DECIDED_STATES.has(r.state);

/**
 * Rows `mappings review` asks about: suggestions (applied, to confirm), unmapped rows with a
 * candidate worth asking about, and rows decided before whose field changed since.
 */
export const inReview = (r: Pick<MappingRow, "state" | "confidence" | "decided_at">): boolean =>
  r.state === "suggested" || (r.state === "unmapped" && (r.confidence >= REVIEW_FLOOR || r.decided_at !== null));

/** The same test in SQL, for `status` (mappings awaiting review). */
export const REVIEW_SQL = `(state = 'suggested' OR (state = 'unmapped' AND (confidence >= ${REVIEW_FLOOR} OR decided_at IS NOT NULL)))`;

/** How many rows of a connection `mappings review` will ask about (`status`: mappings to review). */
export function reviewCount(db: DB, connection: string): number {
  return db.prepare(`SELECT count(*) FROM field_mappings WHERE connection = ? AND ${REVIEW_SQL}`).pluck().get(connection) as number;
}

export function readState(db: DB, connection: string): MappingStateRow | undefined {
  return db.prepare("SELECT * FROM mapping_state WHERE connection = ?").get(connection) as MappingStateRow | undefined;
}

export function writeState(db: DB, s: Omit<MappingStateRow, "updated_at">): void {
  db.prepare(
    `INSERT INTO mapping_state (connection, derived_through, applied, catalog, overridden, updated_at) VALUES (@connection, @derived_through, @applied, @catalog, @overridden, @updated_at)
     ON CONFLICT (connection) DO UPDATE SET derived_through = excluded.derived_through, applied = excluded.applied, catalog = excluded.catalog,
       overridden = excluded.overridden, updated_at = excluded.updated_at`,
  ).run({ ...s, updated_at: new Date().toISOString() });
}

export function readCatalog(db: DB, connection: string): SourceField[] {
  const rows = db.prepare("SELECT source_id, name, type, custom, schema FROM field_catalog WHERE connection = ? ORDER BY rowid").all(connection) as {
    source_id: string;
    name: string;
    type: string;
    custom: number;
    schema: string;
  }[];
  return rows.map((r) => ({ id: r.source_id, name: r.name, type: r.type, custom: r.custom === 1, schema: JSON.parse(r.schema) as unknown }));
}

export function catalogFingerprint(db: DB, connection: string): string | null {
  return (db.prepare("SELECT catalog_fingerprint FROM sync_state WHERE connection = ?").pluck().get(connection) as string | null | undefined) ?? null;
}

export function connectionProvider(db: DB, connection: string): string | null {
  return (db.prepare("SELECT provider FROM connections WHERE name = ?").pluck().get(connection) as string | undefined) ?? null;
}

const SAMPLE_ISSUES = 200;

/** Unset: null, "", [] and {} (Jira's empty time tracking). */
const isSet = (v: unknown) =>
  v !== null && v !== undefined && v !== "" && !(Array.isArray(v) && v.length === 0) && !(typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);

/** Values of `fields` on the most recently updated live issues: per field, one per issue that has one. */
export function sampleValues(
  db: DB,
  connection: string,
  fields: readonly SourceField[],
  adapter: MappingAdapter,
  limit = SAMPLE_ISSUES,
): { samples: Map<string, unknown[]>; sampled: number } {
  const samples = new Map<string, unknown[]>(fields.map((f) => [f.id, []]));
  if (!fields.length) return { samples, sampled: 0 };
  const raws = db
    .prepare("SELECT raw FROM issues WHERE connection = ? AND deleted_at IS NULL ORDER BY updated_at DESC, id LIMIT ?")
    .pluck()
    .all(connection, limit) as string[];
  for (const text of raws) {
    const raw = JSON.parse(text) as unknown;
    for (const f of fields) {
      const v = adapter.value(raw, f);
      if (isSet(v)) samples.get(f.id)!.push(v);
    }
  }
  return { samples, sampled: raws.length };
}

/** Field rows first (by name), then status rows. */
export function listOrder(a: MappingRow, b: MappingRow): number {
  const sa = isStatusRow(a.source_id) ? 1 : 0;
  const sb = isStatusRow(b.source_id) ? 1 : 0;
  return sa - sb || a.source_name.localeCompare(b.source_name, "en", { sensitivity: "base" }) || (a.source_id < b.source_id ? -1 : a.source_id > b.source_id ? 1 : 0);
}
