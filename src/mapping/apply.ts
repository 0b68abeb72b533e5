// Applying the mappings to the cache without calling the tracker: the mapped unified columns and
// the `custom.<slug>` values are re-derived from each issue's stored `raw` payload. Runs inside the
// caller's transaction.
//
// The provider's own value of a column a mapping overrides is kept in `issues.provider_values`
// together with the content_hash it belongs to, so a mapping that is later removed restores it. A
// row whose content_hash no longer matches was rewritten by a sync: its columns are the provider's.
//
// How a value is chosen: a target the provider fills only from mappable fields (Jira story points
// and sprint) takes the first mapped field with a value, in the provider's own order first; any
// other target takes the first mapped field with a value, else the provider's value; labels are the
// union. A status row overrides the status category of its issues when the user chose another
// target than pmsync proposed (`manual`), or always where the provider only knows open/closed.

import type BetterSqlite3 from "better-sqlite3";
import type { StatusCategory } from "../providers/provider.js";
import type { MappingAdapter } from "./adapters.js";
import type { SourceField } from "./scorer.js";
import type { MappingRow } from "./store.js";
import { APPLIED_STATES, CUSTOM_PREFIX, FIELD_TARGETS, isCustomTarget, isStatusRow, STATUS_PREFIX, type UnifiedTarget } from "./targets.js";
import { customValue, toTarget } from "./values.js";

type DB = BetterSqlite3.Database;

const COLUMNS = [...FIELD_TARGETS, "status_category"] as const;
type Column = (typeof COLUMNS)[number];
type Value = string | number | string[] | null;
type Values = Record<Column, Value>;

export interface Plan {
  fields: Map<string, SourceField>;
  /** Targets a mapping feeds, with their source ids in order; `owned`: the mapping alone decides. */
  sources: Map<UnifiedTarget, { ids: string[]; owned: boolean }>;
  custom: { slug: string; id: string }[];
  status: Map<string, StatusCategory>;
  /** True when some column can differ from what the provider wrote (else nothing needs doing). */
  overridden: boolean;
  needsRaw: boolean;
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

export function buildPlan(rows: readonly MappingRow[], catalog: readonly SourceField[], adapter: MappingAdapter): Plan {
  const fields = new Map(catalog.map((f) => [f.id, f]));
  const defaults = adapter.defaults(catalog);
  const applied = rows.filter((r) => APPLIED_STATES.has(r.state) && r.target !== null);
  const sources: Plan["sources"] = new Map();
  for (const t of FIELD_TARGETS) {
    const own = defaults.get(t) ?? [];
    const rank = (id: string) => (own.includes(id) ? own.indexOf(id) : own.length);
    const mapped = applied
      .filter((r) => !isStatusRow(r.source_id) && r.target === t && fields.has(r.source_id))
      .sort((a, b) => rank(a.source_id) - rank(b.source_id) || b.confidence - a.confidence || (a.source_id < b.source_id ? -1 : 1))
      .map((r) => r.source_id);
    const owned = adapter.owned.has(t);
    // An owned target mapped exactly as the provider maps it already holds the right values.
    if (owned ? !sameSet(mapped, own) : mapped.length > 0) sources.set(t, { ids: mapped, owned });
  }
  const custom = applied
    .filter((r) => isCustomTarget(r.target) && fields.has(r.source_id))
    .map((r) => ({ slug: r.target!.slice(CUSTOM_PREFIX.length), id: r.source_id }))
    .sort((a, b) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0));
  const status = new Map<string, StatusCategory>();
  for (const r of applied) {
    if (!isStatusRow(r.source_id)) continue;
    // Where the provider's categories are its own (Jira, Linear, GitHub), pmsync's proposal is what
    // the provider wrote, per issue (a Jira resolution can make a Done issue cancelled): only a
    // different target the user chose (`manual`) overrides it.
    const overrides = adapter.authority !== "full" || r.state === "manual";
    if (overrides) status.set(r.source_id.slice(STATUS_PREFIX.length), r.target as StatusCategory);
  }
  const needsRaw = sources.size > 0 || custom.length > 0;
  return { fields, sources, custom, status, overridden: needsRaw || status.size > 0, needsRaw };
}

interface IssueRowLite extends Record<Column, unknown> {
  rid: number;
  id: string;
  key: string;
  status: string | null;
  content_hash: string;
  synced_at: string;
  provider_values: string | null;
  custom: string;
  raw?: string;
}

function current(r: IssueRowLite): Values {
  const v = {} as Values;
  for (const c of COLUMNS) v[c] = c === "labels" ? (JSON.parse(String(r.labels)) as string[]) : (r[c] as Value);
  return v;
}

const text = (v: Value): string | null => (v === null ? null : Array.isArray(v) ? JSON.stringify(v) : String(v));
const same = (a: Value, b: Value) => text(a) === text(b);

/** New values of one issue under a plan; null when nothing changes. */
export function deriveRow(r: IssueRowLite, plan: Plan, adapter: MappingAdapter): { values: Values; custom: string; providerValues: string | null; fresh: boolean; before: Values } | null {
  const now = current(r);
  const snapshot = r.provider_values ? (JSON.parse(r.provider_values) as { hash: string; values: Values }) : null;
  const fresh = !snapshot || snapshot.hash !== r.content_hash;
  const base: Values = fresh ? now : { ...now, ...snapshot.values };
  const next: Values = { ...base };
  const raw = plan.needsRaw && r.raw !== undefined ? (JSON.parse(r.raw) as unknown) : null;
  for (const [t, { ids, owned }] of plan.sources) {
    const mapped = ids.map((id) => toTarget(t, adapter.value(raw, plan.fields.get(id)!))).filter((v) => v !== null);
    if (t === "labels") next.labels = [...new Set([...((base.labels as string[] | null) ?? []), ...mapped.flat().map(String)])];
    else next[t] = mapped[0] ?? (owned ? null : base[t]);
  }
  if (r.status !== null && plan.status.has(r.status)) next.status_category = plan.status.get(r.status)!;
  const customObj: Record<string, unknown> = {};
  for (const { slug, id } of plan.custom) {
    const v = customValue(adapter.value(raw, plan.fields.get(id)!));
    if (v !== null) customObj[slug] = v;
  }
  const custom = JSON.stringify(customObj);
  const overrides = COLUMNS.some((c) => !same(next[c], base[c]));
  const providerValues = overrides ? JSON.stringify({ hash: r.content_hash, values: base }) : null;
  const changed = COLUMNS.some((c) => !same(next[c], now[c])) || custom !== r.custom || providerValues !== r.provider_values;
  return changed ? { values: next, custom, providerValues, fresh, before: now } : null;
}

const BATCH = 400;

export interface ApplyResult {
  examined: number;
  changed: number;
}

/**
 * Re-derives the issues of `connection`: every issue (`since` null), or those a sync wrote after
 * `since`. Issues a sync wrote since then also get their change-log entries for overridden columns
 * corrected, so `pmsync changes` shows mapped values rather than the provider's.
 */
export function applyPlan(db: DB, connection: string, plan: Plan, adapter: MappingAdapter, since: string | null, marker: string | null): ApplyResult {
  const rowids = (
    since === null
      ? db.prepare("SELECT rowid FROM issues WHERE connection = ?").pluck().all(connection)
      : db.prepare("SELECT rowid FROM issues WHERE connection = ? AND synced_at > ?").pluck().all(connection, since)
  ) as number[];
  const cols = `rowid AS rid, id, key, status, content_hash, synced_at, provider_values, custom, ${COLUMNS.join(", ")}${plan.needsRaw ? ", raw" : ""}`;
  const update = db.prepare(
    `UPDATE issues SET ${COLUMNS.map((c) => `${c} = @${c}`).join(", ")}, custom = @custom, provider_values = @provider_values WHERE rowid = @rid`,
  );
  const log = changeLog(db, connection);
  let changed = 0;
  for (let i = 0; i < rowids.length; i += BATCH) {
    const chunk = rowids.slice(i, i + BATCH);
    const rows = db.prepare(`SELECT ${cols} FROM issues WHERE rowid IN (${chunk.map(() => "?").join(", ")})`).all(...chunk) as IssueRowLite[];
    for (const r of rows) {
      const d = deriveRow(r, plan, adapter);
      if (!d) continue;
      const params: Record<string, unknown> = { rid: r.rid, custom: d.custom, provider_values: d.providerValues };
      for (const c of COLUMNS) params[c] = c === "labels" ? JSON.stringify(d.values.labels ?? []) : d.values[c];
      update.run(params);
      changed++;
      if (d.fresh && (marker === null || r.synced_at > marker)) log(r, d.before, d.values);
    }
  }
  return { examined: rowids.length, changed };
}

/**
 * A sync that rewrote an issue logged its columns as the provider wrote them. For each column the
 * mapping now sets differently: fix the entry's new value (dropping it when old equals new), or,
 * where the sync logged no entry for the column (its old value equalled the provider's), add one.
 * An issue without any entry at its write time was created by that sync: nothing to log.
 */
function changeLog(db: DB, connection: string) {
  const entries = db.prepare("SELECT id, field, old_value, sync_run_id FROM issue_changes WHERE connection = ? AND issue_id = ? AND changed_at = ?");
  const fix = db.prepare("UPDATE issue_changes SET new_value = ? WHERE id = ?");
  const drop = db.prepare("DELETE FROM issue_changes WHERE id = ?");
  const add = db.prepare("INSERT INTO issue_changes (connection, issue_id, key, sync_run_id, changed_at, field, old_value, new_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  return (r: IssueRowLite, provider: Values, mapped: Values) => {
    const diff = COLUMNS.filter((c) => !same(provider[c], mapped[c]));
    if (!diff.length) return;
    const logged = entries.all(connection, r.id, r.synced_at) as { id: number; field: string; old_value: string | null; sync_run_id: number | null }[];
    if (!logged.length) return;
    for (const c of diff) {
      const e = logged.find((x) => x.field === c);
      const now = text(mapped[c]);
      if (e) {
        if (e.old_value === now) drop.run(e.id);
        else fix.run(now, e.id);
      } else {
        add.run(connection, r.id, r.key, logged[0]!.sync_run_id, r.synced_at, c, text(provider[c]), now);
      }
    }
  };
}
