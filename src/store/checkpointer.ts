// WAL checkpoints of a long write, on their own thread. A checkpoint copies the pages the WAL
// holds into the database file; run by the writing connection, it stops the writes (and with them
// the sync's fetching, on the same thread) for 0.15–0.25 s every 128 MB of WAL. A PASSIVE
// checkpoint from a second connection runs beside the writer instead; once it has copied
// everything, the next write starts the WAL file over, so it stays small. The writer's own
// automatic checkpoint is left on: if this thread falls behind or fails, it still runs.

import { Worker } from "node:worker_threads";

/** What the thread did, reported when it closes (logged with --verbose). */
export interface CheckpointSummary {
  checkpoints: number;
  /** The most WAL pages (frames) a checkpoint found. */
  maxWalPages: number;
}

export class Checkpointer {
  private readonly worker: Worker;
  private failed = false;

  constructor(
    path: string,
    private readonly log: (line: string) => void,
  ) {
    this.worker = new Worker(new URL("./checkpoint-worker.js", import.meta.url), {
      workerData: { path },
      // It only runs SQL: a small heap keeps its memory out of the sync's peak RSS.
      resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
    });
    this.worker.on("error", (err) => {
      this.failed = true;
      log(`background checkpoints stopped: ${err.message}`);
    });
  }

  /** Asks for a checkpoint; asks made while one runs are merged into one more. */
  nudge(): void {
    if (!this.failed) this.worker.postMessage("checkpoint");
  }

  async close(): Promise<void> {
    if (this.failed) return;
    const exited = new Promise((resolve) => this.worker.once("exit", resolve));
    const summary = new Promise<CheckpointSummary | null>((resolve) => {
      this.worker.once("message", resolve);
      this.worker.once("exit", () => resolve(null));
    });
    this.worker.postMessage("close");
    const s = await summary;
    await exited;
    if (s) this.log(`background checkpoints: ${s.checkpoints}, the WAL at most ${s.maxWalPages} pages`);
  }
}
