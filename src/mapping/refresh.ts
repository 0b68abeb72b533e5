// Keeping a connection's mappings current: after every sync (and before the mapping commands),
// score fields and statuses that are new or changed, keep every user decision, ask again only
// about decided fields whose schema changed, then re-derive the issues the sync wrote. All in one
// transaction; no tracker call.

import type BetterSqlite3 from "better-sqlite3";
import type { Store } from "../store/db.js";
import { adapterFor, type MappingAdapter } from "./adapters.js";
import { applyPlan, buildPlan, type ApplyResult } from "./apply.js";
import { appliedFingerprint, fieldFingerprint, statusFingerprint } from "./fingerprint.js";
import { scoreFields, scoreStatus, statusVerdict, type Scored, type StatusEvidence } from "./scorer.js";
import {
  catalogFingerprint, deleteRow, isDecided, readCatalog, readRows, readState, sampleValues, scoredRow, writeRow, writeState,
  type MappingRow,
} from "./store.js";
import { APPLIED_STATES, isStatusRow, STATUS_PREFIX, type MappingState } from "./targets.js";
import type { StatusCategory } from "../providers/provider.js";

type DB = BetterSqlite3.Database;

export interface RefreshResult {
  /** Fields and statuses seen for the first time. */
  added: number;
  /** Existing rows whose state, target or confidence changed (re-scored, or asked again). */
  rescored: number;
}

/**
 * Called by `pmsync sync` after each successful, non-dry-run sync of a connection. Cheap when
 * nothing changed: one indexed lookup.
 */
export function refreshMappings(store: Store, connection: string, provider: string): RefreshResult {
  return refreshIn(store.sqlite, connection, provider);
}

export function refreshIn(db: DB, connection: string, provider: string): RefreshResult {
  let result: RefreshResult = { added: 0, rescored: 0 };
  db.transaction(() => {
    result = refreshWithin(db, connection, adapterFor(provider));
  }).immediate();
  return result;
}

/** The refresh itself; the caller holds a write transaction. */
export function refreshWithin(db: DB, connection: string, adapter: MappingAdapter): RefreshResult {
  const state = readState(db, connection);
  const catalogFp = catalogFingerprint(db, connection);
  const marker = state?.derived_through ?? null;
  const written =
    marker === null
      ? Boolean(db.prepare("SELECT 1 FROM issues WHERE connection = ? LIMIT 1").get(connection))
      : Boolean(db.prepare("SELECT 1 FROM issues WHERE connection = ? AND synced_at > ? LIMIT 1").get(connection, marker));
  if (state && state.catalog === catalogFp && !written) return { added: 0, rescored: 0 };

  const now = new Date().toISOString();
  const catalog = readCatalog(db, connection);
  const existing = new Map(readRows(db, connection).map((r) => [r.source_id, r]));
  const out: RefreshResult = { added: 0, rescored: 0 };

  // Fields.
  const fields = adapter.rowFields(catalog);
  const { samples, sampled } = sampleValues(db, connection, fields, adapter);
  const scored = scoreFields(fields, { providerLabel: adapter.label, catalog, native: adapter.native, samples, sampled });
  const wanted = new Set<string>();
  for (const [i, f] of fields.entries()) {
    wanted.add(f.id);
    const fp = fieldFingerprint(f);
    const prev = existing.get(f.id);
    const s = scored[i]!;
    if (!prev) {
      writeRow(db, scoredRow(connection, s, fp, now));
      out.added++;
    } else if (isDecided(prev)) {
      if (prev.fingerprint === fp) continue;
      writeRow(db, askAgain(prev, s, fp, describeChange(prev, f.name, f.type), now));
      out.rescored++;
    } else {
      const next = { ...scoredRow(connection, s, fp, now), ...(prev.decided_at ? keepAsking(prev, s) : {}) };
      if (!differs(prev, next)) continue;
      writeRow(db, next);
      if (prev.state !== next.state || prev.target !== next.target || prev.confidence !== next.confidence) out.rescored++;
    }
  }
  // A field gone from the catalog loses its row (and its decision): if it comes back, it is new.
  for (const id of existing.keys()) if (!isStatusRow(id) && !wanted.has(id)) deleteRow(db, connection, id);

  // Statuses, from the issues the sync wrote (their provider categories).
  for (const ev of statusEvidence(db, connection, marker)) {
    const id = `${STATUS_PREFIX}${ev.name}`;
    const fp = statusFingerprint(ev.name, statusVerdict(ev, adapter.authority));
    const prev = existing.get(id);
    if (prev?.fingerprint === fp) continue;
    const s = scoreStatus(ev, adapter.authority, adapter.label);
    if (!prev) {
      writeRow(db, scoredRow(connection, s, fp, now));
      out.added++;
    } else {
      writeRow(db, isDecided(prev) ? askAgain(prev, s, fp, `${adapter.label} changed the category of "${ev.name}"`, now) : scoredRow(connection, s, fp, now));
      out.rescored++;
    }
  }

  applyAll(db, connection, adapter, { catalog, catalogFp });
  return out;
}

/** Applies the current rows: every issue when the applied set changed, else those written since the marker. */
export function applyAll(
  db: DB,
  connection: string,
  adapter: MappingAdapter,
  opts: { catalog?: ReturnType<typeof readCatalog>; catalogFp?: string | null } = {},
): ApplyResult {
  const state = readState(db, connection);
  const catalog = opts.catalog ?? readCatalog(db, connection);
  const rows = readRows(db, connection);
  const plan = buildPlan(rows, catalog, adapter);
  const appliedFp = appliedFingerprint(rows.filter((r) => APPLIED_STATES.has(r.state)));
  const marker = state?.derived_through ?? null;
  const setChanged = state?.applied !== appliedFp;
  const wasOverridden = (state?.overridden ?? 0) === 1;
  // A changed set re-derives every issue (unless neither the old nor the new set overrides
  // anything); otherwise only the issues written since the last run need it.
  let result: ApplyResult = { examined: 0, changed: 0 };
  if (setChanged ? plan.overridden || wasOverridden : plan.overridden) {
    result = applyPlan(db, connection, plan, adapter, setChanged ? null : marker, marker);
  }
  const through = db.prepare("SELECT max(synced_at) FROM issues WHERE connection = ?").pluck().get(connection) as string | null;
  writeState(db, {
    connection,
    derived_through: through ?? marker,
    applied: appliedFp,
    catalog: opts.catalogFp === undefined ? (state?.catalog ?? null) : opts.catalogFp,
    overridden: plan.overridden ? 1 : 0,
  });
  return result;
}

const differs = (prev: MappingRow, next: MappingRow) =>
  prev.state !== next.state ||
  prev.target !== next.target ||
  prev.confidence !== next.confidence ||
  prev.fingerprint !== next.fingerprint ||
  prev.source_name !== next.source_name ||
  prev.source_type !== next.source_type ||
  JSON.stringify(prev.reasons) !== JSON.stringify(next.reasons) ||
  JSON.stringify(prev.candidates) !== JSON.stringify(next.candidates);

function describeChange(prev: MappingRow, name: string, type: string): string {
  const what: string[] = [];
  if (prev.source_name !== name) what.push(`renamed from "${prev.source_name}"`);
  if (prev.source_type !== type) what.push(`type changed from ${prev.source_type} to ${type}`);
  return `the field changed (${what.length ? what.join(", ") : "schema type changed"})`;
}

/**
 * A decided row whose field changed: scored afresh and put back in the review queue (an `auto`
 * result is shown as `suggested`), with the old decision in its reasons. `decided_at` stays set:
 * it keeps the row in the queue until the user decides again.
 */
function askAgain(prev: MappingRow, s: Scored, fp: string, why: string, now: string): MappingRow {
  const state: MappingState = s.state === "auto" ? "suggested" : s.state;
  const before = `${prev.state}${prev.target ? ` → ${prev.target}` : ""}`;
  return {
    ...scoredRow(prev.connection, s, fp, now),
    state,
    reasons: [`asked again: ${why}; your decision was ${before}`, ...s.reasons],
    decided_at: prev.decided_at ?? now,
  };
}

/** A row already asked again keeps that mark while it waits for the user. */
function keepAsking(prev: MappingRow, s: Scored): Partial<MappingRow> {
  const mark = prev.reasons.find((r) => r.startsWith("asked again: "));
  return { decided_at: prev.decided_at, state: s.state === "auto" ? "suggested" : s.state, ...(mark ? { reasons: [mark, ...s.reasons] } : {}) };
}

/**
 * Status names with the categories the provider gave their issues, from issues written after
 * `since` (all when null). Counted by the columns (from the issues_status index alone when every
 * issue counts: no payload is read); then the rows where a mapping overrode the category, found
 * through issues_overridden, count under the provider's own value from `provider_values`.
 */
function statusEvidence(db: DB, connection: string, since: string | null): StatusEvidence[] {
  const filter = `connection = ? AND deleted_at IS NULL AND status IS NOT NULL${since === null ? "" : " AND synced_at > ?"}`;
  const args = since === null ? [connection] : [connection, since];
  const by = new Map<string, Map<StatusCategory, number>>();
  const count = (status: string, category: StatusCategory | null, n: number) => {
    let m = by.get(status);
    if (!m) by.set(status, (m = new Map()));
    if (!category) return;
    const total = (m.get(category) ?? 0) + n;
    if (total) m.set(category, total);
    else m.delete(category);
  };
  const columns = db.prepare(`SELECT status, status_category AS category, count(*) AS n FROM issues WHERE ${filter} GROUP BY 1, 2`).all(...args);
  for (const r of columns as { status: string; category: StatusCategory | null; n: number }[]) count(r.status, r.category, r.n);
  const overridden = db
    .prepare(
      `SELECT status, status_category AS mapped, json_extract(provider_values, '$.values.status_category') AS own
       FROM issues INDEXED BY issues_overridden
       WHERE ${filter} AND provider_values IS NOT NULL AND json_extract(provider_values, '$.hash') = content_hash`,
    )
    .all(...args) as { status: string; mapped: StatusCategory | null; own: StatusCategory | null }[];
  for (const r of overridden) {
    if (r.mapped === r.own) continue;
    count(r.status, r.mapped, -1);
    count(r.status, r.own, 1);
  }
  return [...by].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, categories]) => ({ name, categories }));
}
