// `pmsync mappings [list] [NAME]`, `mappings review [NAME]`, `mappings set NAME <source-field> <target>`,
// `mappings ignore NAME <source-field>`, `mappings reset NAME` (SPEC §3, §7, §10): field and status
// mappings with confidence and state, an interactive review of the uncertain ones, and
// non-interactive decisions. Every decision is applied to the cache at once, from the stored
// payloads, in the same transaction that records it.

import type { AppContext } from "../cli/context.js";
import { printTable } from "../cli/table.js";
import { PmsyncError, UsageError } from "../errors.js";
import { adapterFor } from "../mapping/adapters.js";
import { decide, findRow, resetMappings, saveDecisions, stateFor } from "../mapping/decisions.js";
import { refreshIn } from "../mapping/refresh.js";
import { schemaKind } from "../mapping/scorer.js";
import { sampleText } from "../mapping/signals.js";
import {
  connectionProvider, inReview, isDecided, listOrder, readCatalog, readRows, sampleValues, type MappingRow,
} from "../mapping/store.js";
import { CUSTOM_PREFIX, customSlugs, FIELD_TARGETS, isStatusRow, parseTarget, STATUS_PREFIX, STATUS_TARGETS } from "../mapping/targets.js";
import type BetterSqlite3 from "better-sqlite3";

export { refreshMappings } from "../mapping/refresh.js";

type DB = BetterSqlite3.Database;

/** One entry of `mappings list --json` (SPEC §10), keys in this order. */
export type MappingJson = Pick<MappingRow, "connection" | "source_id" | "source_name" | "source_type" | "target" | "confidence" | "state" | "reasons" | "candidates">;

const toJson = (r: MappingRow): MappingJson => ({
  connection: r.connection,
  source_id: r.source_id,
  source_name: r.source_name,
  source_type: r.source_type,
  target: r.target,
  confidence: r.confidence,
  state: r.state,
  reasons: r.reasons,
  candidates: r.candidates.map((c) => ({ target: c.target, confidence: c.confidence, reasons: c.reasons })),
});

const NON_INTERACTIVE = "`pmsync mappings list [NAME] --json` shows what awaits review; decide with `pmsync mappings set NAME <source-field> <target>` or `pmsync mappings ignore NAME <source-field>`";

interface Conn {
  name: string;
  provider: string;
}

/** The selected connections that were synced at least once, with their mappings brought up to date. */
async function open(ctx: AppContext, name: string | undefined): Promise<{ db: DB; conns: Conn[] }> {
  const names = name !== undefined ? [name] : Object.keys(ctx.config().connections);
  for (const n of names) ctx.connection(n); // an unknown name is a usage error
  const db = (await ctx.store()).sqlite;
  const conns: Conn[] = [];
  for (const n of names) {
    const provider = connectionProvider(db, n);
    if (!provider) continue; // never synced: nothing to map yet
    refreshIn(db, n, provider);
    conns.push({ name: n, provider });
  }
  return { db, conns };
}

function requireSynced(conns: Conn[], name: string): Conn {
  const c = conns.find((x) => x.name === name);
  if (!c) throw new UsageError(`connection "${name}" has no mappings yet: it was never synced`, { hint: `run \`pmsync sync ${name}\` first` });
  return c;
}

const pct = (n: number) => n.toFixed(2);
const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

// ---- list --------------------------------------------------------------------------------------

export async function mappingsList(ctx: AppContext, name: string | undefined): Promise<void> {
  const { db, conns } = await open(ctx, name);
  const rows = conns.flatMap((c) => readRows(db, c.name).sort(listOrder));
  if (ctx.io.json) {
    ctx.io.printJson(rows.map(toJson));
    return;
  }
  if (!rows.length) {
    ctx.io.info(conns.length ? "No fields or statuses to map." : "No mappings yet: run `pmsync sync` first; mappings are scored after each sync.");
    return;
  }
  const multi = conns.length > 1;
  const tty = ctx.io.stdoutTTY;
  const paintState = (s: string) => (s === "auto" || s === "approved" || s === "manual" ? ctx.io.paint("green", s) : s === "suggested" ? ctx.io.paint("yellow", s) : s === "ignored" ? ctx.io.paint("dim", s) : s);
  await printTable(
    ctx.io,
    [...(multi ? ["CONNECTION"] : []), "SOURCE ID", "NAME", "TYPE", "TARGET", "CONFIDENCE", "STATE", "REASON"],
    rows.map((r) => [
      ...(multi ? [r.connection] : []),
      tty ? cut(r.source_id, 28) : r.source_id,
      tty ? cut(r.source_name, 28) : r.source_name,
      r.source_type,
      r.target ?? (tty ? "—" : ""),
      pct(r.confidence),
      tty ? paintState(r.state) : r.state,
      tty ? cut(r.reasons[0] ?? "", 64) : (r.reasons[0] ?? ""),
    ]),
  );
  for (const c of conns) {
    const mine = rows.filter((r) => r.connection === c.name);
    const waiting = mine.filter(inReview).length;
    const auto = mine.filter((r) => r.state === "auto").length;
    const decided = mine.filter(isDecided).length;
    ctx.io.info(`${c.name}: ${auto} auto, ${decided} decided, ${waiting} to review${waiting ? ` — \`pmsync mappings review${multi || name ? ` ${c.name}` : ""}\`` : ""}`);
  }
}

// ---- decisions -------------------------------------------------------------------------------

function reportDecision(ctx: AppContext, row: MappingRow, changed: number): void {
  if (ctx.io.json) {
    ctx.io.printJson(toJson(row));
    return;
  }
  const what = row.state === "ignored" ? "ignored" : `→ ${row.target} (${row.state})`;
  ctx.io.out(`${row.connection}: "${row.source_name}" (${row.source_id}) ${what}`);
  ctx.io.info(`${changed} cached issue${changed === 1 ? "" : "s"} re-derived from stored payloads`);
}

export async function mappingsSet(ctx: AppContext, name: string, sourceField: string, target: string): Promise<void> {
  const { db, conns } = await open(ctx, name);
  const conn = requireSynced(conns, name);
  const row = findRow(readRows(db, name), name, sourceField);
  const t = parseTarget(target, isStatusRow(row.source_id));
  const next = decide(row, stateFor(row, t), t, new Date().toISOString());
  reportDecision(ctx, next, saveDecisions(db, conn.name, conn.provider, [next]).changed);
}

export async function mappingsIgnore(ctx: AppContext, name: string, sourceField: string): Promise<void> {
  const { db, conns } = await open(ctx, name);
  const conn = requireSynced(conns, name);
  const row = findRow(readRows(db, name), name, sourceField);
  const next = decide(row, "ignored", null, new Date().toISOString());
  reportDecision(ctx, next, saveDecisions(db, conn.name, conn.provider, [next]).changed);
}

export async function mappingsReset(ctx: AppContext, name: string): Promise<void> {
  const { db, conns } = await open(ctx, name);
  const conn = requireSynced(conns, name);
  const { dropped: decided, added } = resetMappings(db, name, conn.provider);
  const rows = readRows(db, name);
  const summary = {
    connection: name,
    dropped_decisions: decided,
    mappings: added,
    auto: rows.filter((r) => r.state === "auto").length,
    suggested: rows.filter((r) => r.state === "suggested").length,
    to_review: rows.filter(inReview).length,
  };
  if (ctx.io.json) ctx.io.printJson(summary);
  else {
    ctx.io.out(`${name}: ${decided} decision${decided === 1 ? "" : "s"} dropped; ${added} mappings scored afresh (${summary.auto} auto, ${summary.suggested} suggested, ${summary.to_review} to review)`);
  }
}

// ---- review ------------------------------------------------------------------------------------

type Choice = "accept" | "another" | "custom" | "ignore" | "skip" | "quit";

function reviewOrder(a: MappingRow, b: MappingRow): number {
  const rank = (r: MappingRow) => (r.state === "suggested" ? 0 : 1);
  return rank(a) - rank(b) || b.confidence - a.confidence || listOrder(a, b);
}

function card(ctx: AppContext, db: DB, conn: Conn, row: MappingRow, i: number, n: number): void {
  const io = ctx.io;
  const status = isStatusRow(row.source_id);
  const adapter = adapterFor(conn.provider);
  let detail = row.source_type;
  let samples = "";
  if (status) {
    const name = row.source_id.slice(STATUS_PREFIX.length);
    const count = db.prepare("SELECT count(*) FROM issues WHERE connection = ? AND status = ? AND deleted_at IS NULL").pluck().get(conn.name, name) as number;
    const keys = db.prepare("SELECT key FROM issues WHERE connection = ? AND status = ? AND deleted_at IS NULL ORDER BY updated_at DESC LIMIT 3").pluck().all(conn.name, name) as string[];
    samples = `${count} issue${count === 1 ? "" : "s"}${keys.length ? ` (e.g. ${keys.join(", ")})` : ""}`;
  } else {
    const field = readCatalog(db, conn.name).find((f) => f.id === row.source_id);
    if (field) {
      const kind = schemaKind(field);
      if (kind) detail += ` · ${kind.replace(/^.*:/, "")}`;
      const { samples: values } = sampleValues(db, conn.name, [field], adapter);
      samples = sampleText(values.get(field.id) ?? [], 3) || "no values in the cache";
    }
  }
  io.out("");
  io.out(`${io.paint("dim", `[${i}/${n}]`)} ${io.paint("bold", row.source_name)}  ${io.paint("dim", `${row.source_id} · ${detail} · ${conn.name}`)}`);
  const now = row.target ? `${row.state} → ${row.target} (${pct(row.confidence)})` : `${row.state} (best ${pct(row.confidence)})`;
  io.out(`  now:        ${now}`);
  for (const r of row.reasons.filter((x) => x.startsWith("asked again: "))) io.out(`  ${io.paint("yellow", r)}`);
  io.out(`  ${status ? "issues:    " : "samples:   "} ${samples}`);
  io.out("  candidates:");
  row.candidates.slice(0, 3).forEach((c, k) => io.out(`    ${k + 1}. ${c.target.padEnd(24)} ${pct(c.confidence)}  ${cut(c.reasons[0] ?? "", 90)}`));
}

export async function mappingsReview(ctx: AppContext, name: string | undefined): Promise<void> {
  if (!ctx.io.canPrompt() || ctx.io.json) {
    throw new UsageError("`pmsync mappings review` asks questions and needs a terminal (stdin and stdout)", { hint: NON_INTERACTIVE });
  }
  const { db, conns } = await open(ctx, name);
  const queue = conns.flatMap((c) => readRows(db, c.name).filter(inReview).sort(reviewOrder).map((row) => ({ conn: c, row })));
  if (!queue.length) {
    ctx.io.info(conns.length ? "Nothing to review: every mapping is either certain or decided." : "No mappings yet: run `pmsync sync` first.");
    return;
  }
  const { select, input } = await import("@inquirer/prompts");
  const decisions = new Map<string, { conn: Conn; row: MappingRow }>();
  let skipped = 0;
  try {
    for (const [k, { conn, row }] of queue.entries()) {
      card(ctx, db, conn, row, k + 1, queue.length);
      const status = isStatusRow(row.source_id);
      const top = row.candidates[0];
      const slug = customSlugs(readCatalog(db, conn.name)).get(row.source_id) ?? row.source_id;
      const choices: { name: string; value: Choice; description: string }[] = [];
      if (top) choices.push({ name: "Accept", value: "accept", description: `map to ${top.target} (${pct(top.confidence)})` });
      choices.push({ name: "Choose another", value: "another", description: "pick another target" });
      if (!status) choices.push({ name: "Keep as custom", value: "custom", description: `keep it as its own export column, ${CUSTOM_PREFIX}${slug}` });
      choices.push(
        { name: "Ignore", value: "ignore", description: "never map it (not asked again unless the field changes)" },
        { name: "Skip", value: "skip", description: "decide later" },
        { name: "Save and quit", value: "quit", description: "save the answers so far and stop" },
      );
      const choice = await select<Choice>({ message: `${row.source_name} (${row.source_id}):`, choices });
      const now = new Date().toISOString();
      const key = `${conn.name}\u0000${row.source_id}`;
      if (choice === "quit") break;
      if (choice === "skip") {
        skipped++;
        continue;
      }
      if (choice === "ignore") decisions.set(key, { conn, row: decide(row, "ignored", null, now) });
      if (choice === "accept" && top) decisions.set(key, { conn, row: decide(row, stateFor(row, top.target), top.target, now) });
      if (choice === "another") {
        const scored = new Map(row.candidates.map((c) => [c.target, c.confidence]));
        const targets = [...new Set([...row.candidates.map((c) => c.target).filter((t) => status || !t.startsWith(CUSTOM_PREFIX)), ...(status ? STATUS_TARGETS : FIELD_TARGETS)])];
        const target = await select<string>({
          message: `Map "${row.source_name}" to:`,
          choices: targets.map((t) => ({ name: scored.has(t) ? `${t} (${pct(scored.get(t)!)})` : t, value: t })),
        });
        decisions.set(key, { conn, row: decide(row, stateFor(row, target), target, now) });
      }
      if (choice === "custom") {
        const answer = await input({
          message: `Export column: ${CUSTOM_PREFIX}`,
          default: slug,
          validate: (v) => /^[a-z0-9][a-z0-9_]{0,47}$/.test(v.trim()) || "lower-case letters, digits and _",
        });
        const target = `${CUSTOM_PREFIX}${answer.trim()}`;
        decisions.set(key, { conn, row: decide(row, stateFor(row, target), target, now) });
      }
    }
  } catch (err) {
    if ((err as Error)?.name === "ExitPromptError") throw new PmsyncError("review interrupted: nothing saved", { hint: "answer `Save and quit` to keep the answers given so far" });
    throw err;
  }
  let changed = 0;
  for (const c of conns) {
    const mine = [...decisions.values()].filter((d) => d.conn.name === c.name).map((d) => d.row);
    if (mine.length) changed += saveDecisions(db, c.name, c.provider, mine).changed;
  }
  const left = conns.reduce((n, c) => n + readRows(db, c.name).filter(inReview).length, 0);
  ctx.io.out("");
  ctx.io.out(`Saved ${decisions.size} decision${decisions.size === 1 ? "" : "s"}; ${changed} cached issue${changed === 1 ? "" : "s"} re-derived.${left ? ` ${left} still to review${skipped ? ` (${skipped} skipped)` : ""}.` : ""}`);
}
