// Streams issues out of the cache as JSON, NDJSON or CSV (SPEC §8, §10) without loading them
// all: rows come from a SQLite iterator and leave in chunks, waiting when the pipe is full.

import { createWriteStream, renameSync, rmSync } from "node:fs";
import { once } from "node:events";
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

/** Where the export goes: UTF-8 bytes, in order. */
export interface Sink {
  write(chunk: Uint8Array): Promise<void>;
}

/** Custom columns the field mappings keep (`custom.<slug>`) for the selected connections (all when none), in a stable order. */
export function customColumns(sqlite: BetterSqlite3.Database, connections: string[] = []): string[] {
  const only = connections.length ? ` AND connection IN (${connections.map(() => "?").join(", ")})` : "";
  return sqlite
    .prepare(
      `SELECT DISTINCT target FROM field_mappings WHERE target LIKE 'custom.%' AND state IN ('auto', 'suggested', 'approved', 'manual')${only} ORDER BY target`,
    )
    .pluck()
    .all(...connections) as string[];
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

export function query(filter: ExportFilter): { sql: string; params: unknown[] } {
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
  // Rowid ranges, in table order (the order issues were first cached): stable, and a sequential
  // scan — walking the primary-key index instead costs a random row lookup per issue.
  where.push("rowid BETWEEN ? AND ?");
  const sql = `SELECT ${EXPORT_COLUMNS.join(", ")}, custom FROM issues WHERE ${where.join(" AND ")} ORDER BY rowid`;
  return { sql, params };
}

/** Rows arrive as arrays (faster than objects): EXPORT_COLUMNS in order, then `custom`. */
type Row = unknown[];
const COLUMN_INDEX = new Map<string, number>(EXPORT_COLUMNS.map((c, i) => [c, i]));
const CUSTOM_INDEX = EXPORT_COLUMNS.length;
const LABELS_INDEX = COLUMN_INDEX.get("labels")!;

/** Per output column, where its value comes from: a plain column, the labels list, or a custom field. */
type Source = { kind: "plain"; index: number } | { kind: "labels"; index: number } | { kind: "custom"; slug: string };

function sources(columns: string[]): Source[] {
  return columns.map((col): Source => {
    if (col.startsWith("custom.")) return { kind: "custom", slug: col.slice(7) };
    const index = COLUMN_INDEX.get(col)!;
    return index === LABELS_INDEX ? { kind: "labels", index } : { kind: "plain", index };
  });
}

function readValue(src: Source, row: Row, custom: Record<string, unknown> | null): unknown {
  if (src.kind === "plain") return row[src.index] ?? null;
  if (src.kind === "labels") return row[src.index] === "[]" ? [] : (JSON.parse(row[src.index] as string) as string[]);
  return custom?.[src.slug] ?? null;
}

/**
 * Cells a spreadsheet would run as a formula (SPEC §10). Anchored at the start only: papaparse's
 * own default (`/^[=+\-@\t\r].*$/`) misses such a cell when it contains a line break.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

const QUOTES = /"/g;
/** What makes papaparse's unparse quote a field: a line break, quote, comma or BOM, or a space at either end. */
const NEEDS_QUOTES = /[\r\n",\ufeff]|^ | $/;
/** Either of the two above: most cells match neither, and one test then settles them. */
const SPECIAL = /[\r\n",\ufeff]|^[ =+\-@\t]| $/;

/**
 * One field as papaparse's `unparse` writes it (quoted only where needed; the tests compare the
 * two on random cells), formula-like cells prefixed with `'`. Written out here because the export
 * threads spent a third of their time in papaparse's general-purpose serializer.
 */
function csvField(v: string): string {
  if (!SPECIAL.test(v)) return v;
  if (FORMULA_START.test(v)) return `"'${v.replace(QUOTES, '""')}"`;
  return NEEDS_QUOTES.test(v) ? `"${v.replace(QUOTES, '""')}"` : v;
}

function csvLine(cells: string[]): string {
  let line = "";
  for (let i = 0; i < cells.length; i++) line += i > 0 ? "," + csvField(cells[i]!) : csvField(cells[i]!);
  return line + "\r\n";
}

/** RFC 4180 rows with CRLF line ends; formula-like cells prefixed with `'`. */
export function toCsv(rows: string[][]): string {
  let out = "";
  for (const row of rows) out += csvLine(row);
  return out;
}

function csvCell(v: unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.join("; ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

const WRITE_SIZE = 256 * 1024;
/** Rowids per chunk: the unit of work handed to a formatting thread. */
const CHUNK_ROWIDS = 1024;
/** Below this many rowids the thread start-up is not worth it. */
const PARALLEL_MIN_ROWIDS = 16_384;
const EXPORT_THREADS = 2;

export interface ChunkSpec {
  sql: string;
  params: unknown[];
  columns: string[];
  format: ExportFormat;
}

export interface FormattedChunk {
  /**
   * CSV or NDJSON lines; for JSON, objects joined with ",\n" (no brackets). UTF-8, in an
   * ArrayBuffer of its own, so an export thread hands it over without a copy.
   */
  bytes: Uint8Array;
  rows: number;
}

/**
 * Lines appended as UTF-8 to a buffer that grows by doubling. Encoded line by line, as they are
 * made: joined into one string first, a single character outside Latin-1 anywhere in a chunk
 * made V8 widen the whole chunk to two bytes per character, and the thread that writes spent
 * its time encoding 46 MB of such strings (100k issues: 0.97 s → 0.71 s for the whole export).
 */
export class Utf8Lines {
  private buf: Buffer;
  length = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(1024, size));
  }

  write(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; only near the end is the exact length needed.
    if (this.length + text.length * 3 > this.buf.length) {
      const need = this.length + Buffer.byteLength(text);
      if (need > this.buf.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
        this.buf.copy(grown, 0, 0, this.length);
        this.buf = grown;
      }
    }
    this.length += this.buf.write(text, this.length);
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/**
 * Formats the matching issues whose rowid lies in [lo, hi]. Runs in export threads too.
 * `sizeHint` sizes the output buffer (it grows if needed): say, the previous chunk's length.
 */
export function formatChunk(stmt: BetterSqlite3.Statement, spec: ChunkSpec, lo: number, hi: number, sizeHint = 64 * 1024): FormattedChunk {
  const src = sources(spec.columns);
  const width = src.length;
  const needsCustom = src.some((x) => x.kind === "custom");
  const out = new Utf8Lines(sizeHint);
  let rows = 0;
  const cells: string[] = new Array(width);
  for (const row of stmt.iterate(...spec.params, lo, hi) as IterableIterator<Row>) {
    const cust = needsCustom ? (JSON.parse(row[CUSTOM_INDEX] as string) as Record<string, unknown>) : null;
    if (spec.format === "csv") {
      for (let i = 0; i < width; i++) cells[i] = csvCell(readValue(src[i]!, row, cust));
      out.write(csvLine(cells));
    } else {
      const obj: Record<string, unknown> = {};
      for (let i = 0; i < width; i++) obj[spec.columns[i]!] = readValue(src[i]!, row, cust);
      const line = JSON.stringify(obj);
      out.write(spec.format === "ndjson" ? line + "\n" : rows > 0 ? ",\n" + line : line);
    }
    rows++;
  }
  return { bytes: out.bytes(), rows };
}

export async function exportIssues(
  sqlite: BetterSqlite3.Database,
  sink: Sink,
  opts: ExportOptions,
  dbPath?: string,
): Promise<number> {
  const columns = resolveColumns(opts.fields, customColumns(sqlite, opts.connections));
  const { sql, params } = query(opts);
  const spec: ChunkSpec = { sql, params, columns, format: opts.format };
  const bounds = sqlite.prepare("SELECT min(rowid) AS lo, max(rowid) AS hi FROM issues").get() as { lo: number | null; hi: number | null };
  const ranges: [number, number][] = [];
  if (bounds.lo !== null && bounds.hi !== null) {
    for (let lo = bounds.lo; lo <= bounds.hi; lo += CHUNK_ROWIDS) ranges.push([lo, Math.min(bounds.hi, lo + CHUNK_ROWIDS - 1)]);
  }

  // Chunks are gathered up to WRITE_SIZE bytes, then written as one.
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const add = (bytes: Uint8Array) => {
    pending.push(bytes);
    pendingBytes += bytes.length;
  };
  const flush = async () => {
    if (pendingBytes === 0) return;
    const out = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending.length = 0;
    pendingBytes = 0;
    await sink.write(out);
  };
  add(Buffer.from(opts.format === "csv" ? (opts.bom ? "\uFEFF" : "") + toCsv([columns]) : opts.format === "json" ? "[" : ""));
  let total = 0;
  const emit = async (chunk: FormattedChunk) => {
    if (chunk.rows > 0) {
      if (opts.format === "json") add(Buffer.from(total === 0 ? "\n" : ",\n"));
      add(chunk.bytes);
      total += chunk.rows;
    }
    if (pendingBytes >= WRITE_SIZE) await flush();
  };

  const rowids = bounds.hi !== null && bounds.lo !== null ? bounds.hi - bounds.lo + 1 : 0;
  if (dbPath && rowids >= PARALLEL_MIN_ROWIDS) {
    const { formatInThreads } = await import("./parallel.js");
    await formatInThreads(dbPath, spec, ranges, EXPORT_THREADS, emit);
  } else {
    const stmt = sqlite.prepare(sql).raw(true);
    for (const [lo, hi] of ranges) await emit(formatChunk(stmt, spec, lo, hi));
  }
  if (opts.format === "json") add(Buffer.from(total === 0 ? "]\n" : "\n]\n"));
  await flush();
  return total;
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
