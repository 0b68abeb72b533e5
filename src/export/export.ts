// Streams issues out of the cache as JSON, NDJSON or CSV (SPEC §8, §10) without loading them
// all: rows come from a SQLite iterator and leave in chunks, waiting when the pipe is full.

import { createWriteStream, renameSync, rmSync } from "node:fs";
import { once } from "node:events";
import Papa from "papaparse";
import type BetterSqlite3 from "better-sqlite3";
import { PmsyncError, UsageError } from "../errors.js";

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
  // Table order (the order issues were first cached): stable, and a sequential scan — walking
  // the primary-key index instead costs a random row lookup per issue.
  const sql = `SELECT ${EXPORT_COLUMNS.join(", ")}, custom FROM issues${where.length ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY rowid`;
  return { sql, params };
}

/** Rows arrive as arrays (faster than objects): EXPORT_COLUMNS in order, then `custom`. */
type Row = unknown[];
const COLUMN_INDEX = new Map<string, number>(EXPORT_COLUMNS.map((c, i) => [c, i]));
const CUSTOM_INDEX = EXPORT_COLUMNS.length;
const LABELS_INDEX = COLUMN_INDEX.get("labels")!;

/** Per output column: how to read its value from a row. */
function readers(columns: string[]): ((row: Row, custom: Record<string, unknown> | null) => unknown)[] {
  return columns.map((col) => {
    if (col.startsWith("custom.")) {
      const slug = col.slice(7);
      return (_row, custom) => custom?.[slug] ?? null;
    }
    const i = COLUMN_INDEX.get(col)!;
    if (i === LABELS_INDEX) return (row) => JSON.parse(row[i] as string) as string[];
    return (row) => row[i] ?? null;
  });
}

/**
 * Cells a spreadsheet would run as a formula (SPEC §10). Anchored at the start only: papaparse's
 * own default (`/^[=+\-@\t\r].*$/`) misses such a cell when it contains a line break.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/** RFC 4180 rows with CRLF line ends; formula-like cells prefixed with `'`. */
export function toCsv(rows: string[][]): string {
  if (!rows.length) return "";
  return Papa.unparse(rows, { newline: "\r\n", header: false, escapeFormulae: FORMULA_START }) + "\r\n";
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.join("; ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

const CHUNK = 256 * 1024;

export async function exportIssues(sqlite: BetterSqlite3.Database, sink: Sink, opts: ExportOptions): Promise<number> {
  const custom = customColumns(sqlite);
  const columns = resolveColumns(opts.fields, custom);
  const needsCustom = columns.some((c) => c.startsWith("custom."));
  const { sql, params } = query(opts);
  const stmt = sqlite.prepare(sql).raw(true);
  const read = readers(columns);

  let buf = "";
  const flush = async (force = false) => {
    if (buf.length >= CHUNK || (force && buf.length)) {
      const chunk = buf;
      buf = "";
      await sink.write(chunk);
    }
  };

  let n = 0;
  if (opts.format === "csv") {
    buf += (opts.bom ? "\uFEFF" : "") + toCsv([columns]);
  } else if (opts.format === "json") {
    buf += "[";
  }
  let batch: string[][] = [];
  for (const row of stmt.iterate(...params) as IterableIterator<Row>) {
    const cust = needsCustom ? (JSON.parse(row[CUSTOM_INDEX] as string) as Record<string, unknown>) : null;
    if (opts.format === "csv") {
      const cells: string[] = new Array(read.length);
      for (let i = 0; i < read.length; i++) cells[i] = csvCell(read[i]!(row, cust));
      batch.push(cells);
      if (batch.length === 2048) {
        buf += toCsv(batch);
        batch = [];
      }
    } else {
      const obj: Record<string, unknown> = {};
      for (let i = 0; i < read.length; i++) obj[columns[i]!] = read[i]!(row, cust);
      const text = JSON.stringify(obj);
      buf += opts.format === "json" ? (n === 0 ? "\n" : ",\n") + text : text + "\n";
    }
    n++;
    if (buf.length >= CHUNK) await flush();
  }
  if (batch.length) buf += toCsv(batch);
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
    if ((err as NodeJS.ErrnoException).code && !(err instanceof PmsyncError)) {
      throw new PmsyncError(`cannot write ${path}: ${(err as Error).message}`);
    }
    throw err;
  }
}
