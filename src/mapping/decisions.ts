// User decisions on mapping rows (`approved`, `manual`, `ignored`): how they are recorded, and
// how a row is found by what a person types (a source id, `status:<name>`, or a unique name).

import type BetterSqlite3 from "better-sqlite3";
import { UsageError } from "../errors.js";
import { adapterFor } from "./adapters.js";
import { applyAll, refreshWithin } from "./refresh.js";
import { isDecided, readRows, readState, writeRow, writeState, type MappingRow } from "./store.js";
import { isStatusRow, STATUS_PREFIX, type DecidedState } from "./targets.js";

const DECIDED_MARK = "decided by you";

/** A row with the user's decision: confidence 1 (the user said so), the decision first in its reasons. */
export function decide(row: MappingRow, state: DecidedState, target: string | null, now = new Date().toISOString()): MappingRow {
  const kept = row.reasons.filter((r) => !r.startsWith(DECIDED_MARK) && !r.startsWith("asked again: "));
  return {
    ...row,
    state,
    target,
    confidence: 1,
    reasons: [`${DECIDED_MARK} on ${now.slice(0, 10)}: ${state}${target ? ` → ${target}` : ""}`, ...kept],
    decided_at: now,
    updated_at: now,
  };
}

/** `approved` when the user took pmsync's own proposal, `manual` otherwise. */
export function stateFor(row: MappingRow, target: string): DecidedState {
  const proposal = row.state === "auto" || row.state === "suggested" ? row.target : (row.candidates[0]?.target ?? null);
  return proposal === target ? "approved" : "manual";
}

/** Finds a row by source id, `status:<name>`, or (case-insensitively) a unique field or status name. */
export function findRow(rows: readonly MappingRow[], conn: string, field: string): MappingRow {
  const byId = rows.find((r) => r.source_id === field) ?? rows.find((r) => r.source_id === `${STATUS_PREFIX}${field}`);
  if (byId) return byId;
  const lower = field.trim().toLowerCase();
  const named = rows.filter((r) => r.source_name.toLowerCase() === lower);
  const fields = named.filter((r) => !isStatusRow(r.source_id));
  const pick = fields.length ? fields : named;
  if (pick.length === 1) return pick[0]!;
  if (pick.length > 1) {
    throw new UsageError(`${pick.length} fields of "${conn}" are named "${field}": ${pick.map((r) => r.source_id).join(", ")}`, { hint: "name the field by its source id" });
  }
  throw new UsageError(`"${conn}" has no field or status "${field}"`, { hint: `\`pmsync mappings list ${conn}\` lists them with their source ids` });
}

/** Records decisions and re-derives the connection's issues from their stored payloads, in one transaction. */
export function saveDecisions(db: BetterSqlite3.Database, connection: string, provider: string, rows: readonly MappingRow[]): { changed: number } {
  let changed = 0;
  db.transaction(() => {
    for (const r of rows) writeRow(db, r);
    changed = applyAll(db, connection, adapterFor(provider)).changed;
  }).immediate();
  return { changed };
}

/**
 * Drops every decision of a connection and scores all its fields and statuses afresh, then
 * re-derives its issues (restoring what the old mappings changed). One transaction.
 */
export function resetMappings(db: BetterSqlite3.Database, connection: string, provider: string): { dropped: number; added: number } {
  let out = { dropped: 0, added: 0 };
  db.transaction(() => {
    const dropped = readRows(db, connection).filter(isDecided).length;
    db.prepare("DELETE FROM field_mappings WHERE connection = ?").run(connection);
    // Forget how far the mappings were applied, so every field and status is scored afresh;
    // `overridden` stays, so the issues an old mapping changed are restored.
    const st = readState(db, connection);
    if (st) writeState(db, { ...st, derived_through: null, applied: null, catalog: null });
    out = { dropped, added: refreshWithin(db, connection, adapterFor(provider)).added };
  }).immediate();
  return out;
}
