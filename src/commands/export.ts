// `pmsync export`: thin wrapper over src/export/export.ts.

import type { AppContext } from "../cli/context.js";
import { parseSince } from "../core/time.js";
import { UsageError } from "../errors.js";
import { exportIssues, withFileSink, type ExportFormat } from "../export/export.js";

export interface ExportCommandOptions {
  format: string;
  out?: string;
  connections: string[];
  projects: string[];
  statusCategories: string[];
  updatedSince?: string;
  includeDeleted: boolean;
  fields?: string;
  bom: boolean;
}

const FORMATS = ["json", "ndjson", "csv"];
const CATEGORIES = ["todo", "in_progress", "done", "cancelled"];

export async function runExport(ctx: AppContext, opts: ExportCommandOptions): Promise<number> {
  if (!FORMATS.includes(opts.format)) throw new UsageError(`unknown --format "${opts.format}"`, { hint: `use one of: ${FORMATS.join(", ")}` });
  const badCat = opts.statusCategories.find((c) => !CATEGORIES.includes(c));
  if (badCat) throw new UsageError(`unknown --status-category "${badCat}"`, { hint: `use one of: ${CATEGORIES.join(", ")}` });
  let updatedSince: string | null = null;
  if (opts.updatedSince) {
    const ms = parseSince(opts.updatedSince);
    if (ms === null) throw new UsageError(`--updated-since "${opts.updatedSince}" is not an ISO date/time or a span like 7d`);
    updatedSince = new Date(ms).toISOString();
  }
  for (const c of opts.connections) ctx.connection(c);
  const fields = opts.fields ? opts.fields.split(",").map((f) => f.trim()).filter(Boolean) : null;
  const store = await ctx.store();
  const options = {
    format: opts.format as ExportFormat,
    fields,
    bom: opts.bom,
    connections: opts.connections,
    projects: opts.projects,
    statusCategories: opts.statusCategories,
    updatedSince,
    includeDeleted: opts.includeDeleted,
  };
  if (opts.out) {
    const n = await withFileSink(opts.out, (sink) => exportIssues(store.sqlite, sink, options, store.path));
    ctx.io.info(`Wrote ${n} issue${n === 1 ? "" : "s"} to ${opts.out}`);
    return n;
  }
  return exportIssues(store.sqlite, { write: (chunk) => ctx.io.write(chunk) }, options, store.path);
}
