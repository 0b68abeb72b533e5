// Large exports format on two threads (the second core is otherwise idle): each thread reads
// every other rowid chunk through its own read-only connection and formats it; the main thread
// writes the chunks in order. A thread stays at most two chunks ahead, so memory stays flat.

import { Worker } from "node:worker_threads";
import type { ChunkSpec, FormattedChunk } from "./export.js";

export interface ExportWorkerData {
  dbPath: string;
  spec: ChunkSpec;
  ranges: [number, number][];
  /** Chunk indexes this thread formats: start, start + stride, … */
  start: number;
  stride: number;
  window: number;
}

export type ExportWorkerMessage = { type: "chunk"; index: number; chunk: FormattedChunk } | { type: "error"; message: string };

export async function formatInThreads(
  dbPath: string,
  spec: ChunkSpec,
  ranges: [number, number][],
  threads: number,
  emit: (chunk: FormattedChunk) => Promise<void>,
): Promise<void> {
  const ready = new Map<number, { chunk: FormattedChunk; worker: Worker }>();
  let failure: Error | null = null;
  let notify: (() => void) | null = null;
  const workers = Array.from({ length: threads }, (_, start) => {
    const w = new Worker(new URL("./export-worker.js", import.meta.url), {
      workerData: { dbPath, spec, ranges, start, stride: threads, window: 2 } satisfies ExportWorkerData,
      // A thread holds a few formatted chunks at most: small heaps make V8 collect early instead
      // of letting RSS grow to its default limits.
      resourceLimits: { maxYoungGenerationSizeMb: 16 },
    });
    w.on("message", (m: ExportWorkerMessage) => {
      if (m.type === "chunk") ready.set(m.index, { chunk: m.chunk, worker: w });
      else failure = new Error(`export thread failed: ${m.message}`);
      notify?.();
    });
    w.on("error", (err) => {
      failure = err;
      notify?.();
    });
    return w;
  });
  try {
    for (let i = 0; i < ranges.length; i++) {
      while (!ready.has(i) && !failure) await new Promise<void>((r) => (notify = r));
      if (failure) throw failure;
      const { chunk, worker } = ready.get(i)!;
      ready.delete(i);
      await emit(chunk);
      worker.postMessage(1);
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
