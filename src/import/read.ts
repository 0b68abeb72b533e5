// Reads an edited `pmsync export` back: CSV (RFC 4180, optional BOM, the export's `'` guard in
// front of formula-like cells undone, labels joined by "; "), a JSON array, or NDJSON. Each record
// keeps its number as a person counts it: CSV data rows from 1 after the header, JSON/NDJSON
// records from 1 (SPEC §10).

import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { UsageError } from "../errors.js";

export type ImportFormat = "csv" | "json" | "ndjson";

export interface ImportRecord {
  /** 1-based, as the error messages name it. */
  row: number;
  values: Record<string, unknown>;
  /** CSV cells are text; JSON keeps types (labels as arrays, numbers). */
  fromCsv: boolean;
}

export function formatOf(path: string): ImportFormat {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv") return "csv";
  if (ext === ".json") return "json";
  if (ext === ".ndjson" || ext === ".jsonl") return "ndjson";
  throw new UsageError(`cannot tell the format of "${path}" from its name`, { hint: "use a .csv, .json or .ndjson file (as `pmsync export --format …` writes)" });
}

export async function readImport(path: string): Promise<ImportRecord[]> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const format = formatOf(path);
  if (format === "json") return readJson(text);
  if (format === "ndjson") return readNdjson(text);
  return readCsv(text);
}

function asObject(v: unknown, row: number): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new UsageError(`record ${row}: expected an object with the export's columns`);
  return v as Record<string, unknown>;
}

function readJson(text: string): ImportRecord[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`the file is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new UsageError("a JSON import must be an array of issues (as `pmsync export --format json` writes)");
  return data.map((v, i) => ({ row: i + 1, values: asObject(v, i + 1), fromCsv: false }));
}

function readNdjson(text: string): ImportRecord[] {
  const out: ImportRecord[] = [];
  let n = 0;
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    n++;
    try {
      out.push({ row: n, values: asObject(JSON.parse(line), n), fromCsv: false });
    } catch (err) {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`record ${n}: not valid JSON (${(err as Error).message})`);
    }
  }
  return out;
}

const FORMULA_GUARD = /^'[=+\-@\t\r]/;

async function readCsv(text: string): Promise<ImportRecord[]> {
  const { default: Papa } = await import("papaparse");
  const parsed = Papa.parse<string[]>(text, { skipEmptyLines: "greedy" });
  const bad = parsed.errors.find((e) => e.type !== "Delimiter");
  if (bad) throw new UsageError(`row ${bad.row ?? "?"}: ${bad.message}`, { hint: "the file must be CSV as `pmsync export --format csv` writes it" });
  const [header, ...rows] = parsed.data;
  if (!header) throw new UsageError("the CSV file is empty");
  const names = header.map((h) => h.trim());
  return rows.map((cells, i) => {
    if (cells.length !== names.length) throw new UsageError(`row ${i + 1}: ${cells.length} cells where the header has ${names.length}`);
    const values: Record<string, unknown> = {};
    names.forEach((n, c) => {
      const cell = cells[c]!;
      values[n] = FORMULA_GUARD.test(cell) ? cell.slice(1) : cell;
    });
    return { row: i + 1, values, fromCsv: true };
  });
}
