// One export formatting thread (see parallel.ts).

import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { creditGate } from "../core/credit.js";
import { formatChunk } from "./export.js";
import type { ExportWorkerData, ExportWorkerMessage } from "./parallel.js";

const data = workerData as ExportWorkerData;
const port = parentPort!;
const credit = creditGate(port, data.window);

// A chunk's bytes are transferred, not copied.
const post = (m: ExportWorkerMessage) => port.postMessage(m, m.type === "chunk" ? [m.chunk.bytes.buffer as ArrayBuffer] : []);

try {
  const db = new Database(data.dbPath, { readonly: true, fileMustExist: true });
  db.pragma("busy_timeout = 5000");
  const stmt = db.prepare(data.spec.sql).raw(true);
  let size = 64 * 1024; // chunks of one export are about the same size: sized from the largest so far
  for (let i = data.start; i < data.ranges.length; i += data.stride) {
    await credit.take();
    const [lo, hi] = data.ranges[i]!;
    const chunk = formatChunk(stmt, data.spec, lo, hi, size + (size >> 3));
    size = Math.max(size, chunk.bytes.length);
    post({ type: "chunk", index: i, chunk });
  }
  db.close();
} catch (err) {
  post({ type: "error", message: (err as Error).message });
}
port.close();
