// Streams issues out of the cache as JSON, NDJSON or CSV (SPEC §8, §10) without loading them
// all: rows come from a SQLite iterator and leave in chunks, waiting when the pipe is full.

import { createWriteStream, renameSync, rmSync } from "node:fs";
import { once } from "node:events";
import { stringify } from "csv-stringify/sync";
import type BetterSqlite3 from "better-sqlite3";
import { UsageError } from "../errors.js";

export const EXPORT_COLUMNS = [
  "connection", "provider", "key", "id", "url", "project", "type", "title", "description", "status",
  "status_category", "priority", "assignee", "reporter", "labels", "parent", "sprint", "story_points",
  "due_date", "created_at", "updated_at", "resolved_at", "deleted_at", "content_hash", "synced_at",
] as const;

export type ExportFormat = "json" | "ndjson" | "csv";

export interface ExportFilter {
  connections: string[];
  projects: string[];
  statusCategories: string[];
  updatedSince: string | null;
  includeDeleted: boolean;
}

export interface ExportOptions extends ExportFilter {
  format: ExportFormat;
  fields: string[] | null;
  bom: boolean;
}

export interface Sink {
  write(chunk: string): Promise<void>;
}

/** Custom columns the field mappings keep (`custom.<slug>`), in a stable order. */
export function customColumns(sqlite: BetterSqlite3.Database): string[] {
  return sqlite
    .prepare(
      "SELECT DISTINCT target FROM field_mappings WHERE target LIKE 'custom.%' AND state IN ('auto', 'suggested', 'approved', 'manual') ORDER BY target",
    )
    .pluck()
    .all() as string[];
}

export function resolveColumns(requested: string[] | null, custom: string[]): string[] {
  const all = [...EXPORT_COLUMNS, ...custom];
  if (!requested) return all;
  const unknown = requested.filter((f) => !all.includes(f));
  if (unknown.length) {
    throw new UsageError(`unknown field${unknown.length > 1 ? "s" : ""} for --fields: ${unknown.join(", ")}`, {
      hint: `known: ${all.join(", ")}`,
    });
  }
  return requested;
}

function query(filter: ExportFilter): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const inList = (col: string, values: string[]) => {
    if (!values.length) return;
    where.push(`${col} IN (${values.map(() => "?").join(", ")})`);
    params.push(...values);
  };
  inList("connection", filter.connections);
  inList("project", filter.projects);
  inList("status_category", filter.statusCategories);
  if (filter.updatedSince) {
    where.push("updated_at >= ?");
    params.push(filter.updatedSince);
  }
  if (!filter.includeDeleted) where.push("deleted_at IS NULL");
  // Primary-key order: stable, and streamed from the index without a sort.
  const sql = `SELECT ${EXPORT_COLUMNS.join(", ")}, custom FROM issues${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY connection, id`;
  return { sql, params };
}

type Row = Record<(typeof EXPORT_COLUMNS)[number] | "custom", unknown>;

function valueOf(row: Row, col: string, custom: Record<string, unknown> | null): unknown {
  if (col === "labels") return JSON.parse(row.labels as string) as string[];
  if (col.startsWith("custom.")) return custom?.[col.slice(7)] ?? null;
  return row[col as keyof Row] ?? null;
}

/** A cell that a spreadsheet would run as a formula is prefixed with `'` (SPEC §10). */
export function inertCell(text: string): string {
  const c = text.charCodeAt(0);
  // = + - @ tab CR
  return c === 61 || c === 43 || c === 45 || c === 64 || c === 9 || c === 13 ? `'${text}` : text;
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return inertCell(v.join("; "));
  if (typeof v === "object") return inertCell(JSON.stringify(v));
  return inertCell(String(v));
}

const CHUNK = 256 * 1024;

export async function exportIssues(sqlite: BetterSqlite3.Database, sink: Sink, opts: ExportOptions): Promise<number> {
  const custom = customColumns(sqlite);
  const columns = resolveColumns(opts.fields, custom);
  const needsCustom = columns.some((c) => c.startsWith("custom."));
  const { sql, params } = query(opts);
  const stmt = sqlite.prepare(sql);

  let buf = "";
  const flush = async (force = false) => {
    if (buf.length >= CHUNK || (force && buf.length)) {
      const chunk = buf;
      buf = "";
      await sink.write(chunk);
    }
  };

  let n = 0;
  const csvOpts = { record_delimiter: "\r\n" } as const;
  if (opts.format === "csv") {
    buf += (opts.bom ? "\uFEFF" : "") + stringify([columns], csvOpts);
  } else if (opts.format === "json") {
    buf += "[";
  }
  let batch: string[][] = [];
  for (const row of stmt.iterate(...params) as IterableIterator<Row>) {
    const cust = needsCustom ? (JSON.parse(row.custom as string) as Record<string, unknown>) : null;
    if (opts.format === "csv") {
      batch.push(columns.map((c) => csvCell(valueOf(row, c, cust))));
      if (batch.length === 512) {
        buf += stringify(batch, csvOpts);
        batch = [];
      }
    } else {
      const obj: Record<string, unknown> = {};
      for (const c of columns) obj[c] = valueOf(row, c, cust);
      const text = JSON.stringify(obj);
      buf += opts.format === "json" ? (n === 0 ? "\n" : ",\n") + text : text + "\n";
    }
    n++;
    if (buf.length >= CHUNK) await flush();
  }
  if (batch.length) buf += stringify(batch, csvOpts);
  if (opts.format === "json") buf += n === 0 ? "]\n" : "\n]\n";
  await flush(true);
  return n;
}

/** `--out FILE`: written next to the target and renamed at the end, so readers never see half a file. */
export async function withFileSink<T>(path: string, run: (sink: Sink) => Promise<T>): Promise<T> {
  const tmp = `${path}.${process.pid}.partial`;
  const stream = createWriteStream(tmp, { mode: 0o600 });
  let failed: Error | null = null;
  stream.on("error", (e) => (failed = e));
  const sink: Sink = {
    async write(chunk) {
      if (failed) throw failed;
      if (!stream.write(chunk)) await once(stream, "drain");
    },
  };
  try {
    const result = await run(sink);
    stream.end();
    await once(stream, "finish");
    if (failed) throw failed;
    renameSync(tmp, path);
    return result;
  } catch (err) {
    stream.destroy();
    rmSync(tmp, { force: true });
    throw err;
  }
}
