// `pmsync import <file> [--dry-run]`: diffs an edited export against the cache and queues the
// differences in the outbox. The whole file is checked first; one bad cell rejects it all, named by
// row and column, and nothing is queued.

import type { AppContext } from "../cli/context.js";
import { findIssue, Outbox, parseValue, sameValue, showValue, Vocabulary, fieldValue, type Edit, EDITABLE_FIELDS } from "../core/outbox.js";
import { PmsyncError, UsageError } from "../errors.js";
import { readImport } from "../import/read.js";
import { providerModule } from "../providers/registry.js";

const MAX_ERRORS_SHOWN = 20;

export async function importFile(ctx: AppContext, path: string, dryRun: boolean): Promise<void> {
  const records = await readImport(path);
  const { sqlite } = await ctx.store();
  const vocab = new Vocabulary(sqlite);
  const known = new Set(Object.keys(ctx.config().connections));
  const edits: Edit[] = [];
  const errors: string[] = [];
  const seen = new Map<string, number>();
  const where = (row: number, col: string) => `row ${row}, column ${col}`;

  for (const rec of records) {
    const key = typeof rec.values.key === "string" ? rec.values.key.trim() : "";
    if (!key) {
      errors.push(`${where(rec.row, "key")}: missing (every row needs the issue key)`);
      continue;
    }
    const conn = typeof rec.values.connection === "string" && rec.values.connection.trim() ? rec.values.connection.trim() : undefined;
    if (conn && !known.has(conn)) {
      errors.push(`${where(rec.row, "connection")}: no connection named "${conn}"`);
      continue;
    }
    let issue;
    try {
      issue = findIssue(sqlite, key, conn);
    } catch (err) {
      errors.push(`${where(rec.row, "key")}: ${(err as Error).message}`);
      continue;
    }
    const id = `${issue.connection}\u0000${issue.id}`;
    if (seen.has(id)) {
      errors.push(`${where(rec.row, "key")}: ${key} is also on row ${seen.get(id)}`);
      continue;
    }
    seen.set(id, rec.row);
    const editable = providerModule(issue.provider).editableFields;
    for (const field of EDITABLE_FIELDS) {
      if (!(field in rec.values)) continue;
      let raw = rec.values[field];
      if (rec.fromCsv && field === "labels" && typeof raw === "string") raw = raw.split(";");
      let value;
      try {
        value = parseValue(field, raw, issue, vocab);
      } catch (err) {
        if (!(err instanceof PmsyncError)) throw err;
        errors.push(`${where(rec.row, field)}: ${err.message}${err.hint ? ` (${err.hint})` : ""}`);
        continue;
      }
      if (sameValue(field, fieldValue(issue, field), value)) continue;
      if (!editable.has(field)) {
        errors.push(`${where(rec.row, field)}: ${issue.provider} issues cannot have their ${field} changed by pmsync`);
        continue;
      }
      edits.push({ issue, field, value });
    }
  }

  if (errors.length) {
    const shown = errors.slice(0, MAX_ERRORS_SHOWN).map((e) => `  ${e}`).join("\n");
    const more = errors.length > MAX_ERRORS_SHOWN ? `\n  … and ${errors.length - MAX_ERRORS_SHOWN} more` : "";
    throw new UsageError(`${path} was rejected, nothing was queued (${errors.length} problem${errors.length > 1 ? "s" : ""}):\n${shown}${more}`, {
      hint: "fix the cells named above and import again; read-only columns (created_at, status_category …) are ignored",
    });
  }

  const changes = edits.map((e) => ({ connection: e.issue.connection, key: e.issue.key, field: e.field, from: fieldValue(e.issue, e.field), to: e.value }));
  const result = dryRun ? { queued: 0, dropped: 0 } : new Outbox(sqlite).queue(edits);
  if (ctx.io.json) return ctx.io.printJson({ dry_run: dryRun, rows: records.length, issues: new Set(changes.map((c) => `${c.connection}/${c.key}`)).size, ...result, changes });
  for (const c of changes) ctx.io.out(`${c.key} ${c.field}: ${showValue(c.from)} → ${showValue(c.to)}`);
  const issues = new Set(changes.map((c) => `${c.connection}/${c.key}`)).size;
  if (dryRun) ctx.io.info(`${changes.length} change(s) in ${issues} issue(s) of ${records.length} row(s) would be queued (dry run: nothing queued).`);
  else ctx.io.info(`${result.queued} change(s) in ${issues} issue(s) queued from ${records.length} row(s). \`pmsync push\` sends them.`);
}
