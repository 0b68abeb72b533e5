// Where the engine's prepared pages come from: a pull worker thread (the default: fetching,
// parsing and hashing overlap with the SQLite writes on the main thread), or the same steps
// in-process (tests that inject an HTTP dispatcher, which cannot cross a thread).

import { Worker } from "node:worker_threads";
import { deserializeError, type SerializedError } from "../errors.js";
import type { UsageDelta, UsageRecorder } from "../http/usage.js";
import type { Provider, PullRequest } from "../providers/provider.js";
import { ACK } from "./credit.js";
import { preparePage, splitPaths, unpackPage, type PackedPage, type PreparedPage } from "./prepare.js";
import type { PullWorkerData } from "./pull-worker.js";

export type WorkerMessage =
  | { type: "page"; page: PackedPage; usage: UsageDelta[] }
  | { type: "done"; usage: UsageDelta[] }
  | { type: "error"; error: SerializedError; usage: UsageDelta[] }
  | { type: "log"; line: string };

/** Yields prepared pages; usage counts gathered while fetching a page are absorbed into `usage`. */
export type PageSource = (request: PullRequest, usage: UsageRecorder) => AsyncIterable<PreparedPage>;

export function inProcessPages(provider: Provider): PageSource {
  return async function* (request) {
    const volatile = splitPaths(provider.volatilePaths);
    for await (const page of provider.pull(request)) yield preparePage(page, provider, volatile);
  };
}

export function workerPages(spec: Omit<PullWorkerData, "request" | "window">, log?: (line: string) => void): PageSource {
  return async function* (request, usage) {
    const worker = new Worker(new URL("./pull-worker.js", import.meta.url), {
      workerData: { ...spec, request, window: 2 } satisfies PullWorkerData,
      // Parsed pages are garbage almost at once: a larger young generation means fewer scavenges.
      resourceLimits: { maxYoungGenerationSizeMb: 32 },
    });
    const queue: WorkerMessage[] = [];
    let notify: (() => void) | null = null;
    let crashed: Error | null = null;
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "log") log?.(m.line);
      else queue.push(m);
      notify?.();
    });
    worker.on("error", (err) => {
      crashed = err;
      notify?.();
    });
    worker.on("exit", (code) => {
      if (code !== 0 && !crashed) crashed = new Error(`the pull worker stopped with exit code ${code}`);
      notify?.();
    });
    try {
      for (;;) {
        while (!queue.length && !crashed) await new Promise<void>((r) => (notify = r));
        const m = queue.shift();
        if (!m) throw crashed!;
        if (m.type === "log") continue;
        usage.absorb(m.usage);
        if (m.type === "done") return;
        if (m.type === "error") throw deserializeError(m.error);
        yield unpackPage(m.page);
        // The page is written by now: let the worker send another.
        worker.postMessage(ACK);
      }
    } finally {
      await worker.terminate();
    }
  };
}
