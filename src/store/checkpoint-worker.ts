// The thread behind store/checkpointer.ts: its own connection to the cache, PASSIVE checkpoints
// on request (they never wait for, or block, the writer).

import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import BetterSqlite3 from "better-sqlite3";
import type { CheckpointSummary } from "./checkpointer.js";

const port = parentPort!;

// Below the sync's own threads: when the two are short of a core, the copying can wait (the WAL
// grows a little), the fetching and parsing cannot. Linux only (a thread's id from
// /proc/thread-self; setpriority applies to that thread alone); elsewhere it keeps its priority.
try {
  setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), 10);
} catch {
  // not Linux, or not allowed: fine
}
const db = new BetterSqlite3((workerData as { path: string }).path, { fileMustExist: true });
let scheduled = false;
const done: CheckpointSummary = { checkpoints: 0, maxWalPages: 0 };

function checkpoint(): void {
  scheduled = false;
  const [result] = db.pragma("wal_checkpoint(PASSIVE)") as { busy: number; log: number; checkpointed: number }[];
  done.checkpoints++;
  done.maxWalPages = Math.max(done.maxWalPages, result?.log ?? 0);
}

port.on("message", (m: "checkpoint" | "close") => {
  if (m === "close") {
    if (scheduled) checkpoint(); // the last request still counts
    db.close();
    port.postMessage(done);
    port.close();
    return;
  }
  // Requests that queued up while a checkpoint ran are handled in one batch: one more checkpoint.
  if (scheduled) return;
  scheduled = true;
  setImmediate(checkpoint);
});
