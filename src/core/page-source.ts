// Where the engine's prepared pages come from, in page order, marked where the batches the
// engine commits together end:
// - a provider with a SplitPull (Jira): this thread fetches, a decoder thread parses (split-source.ts);
// - any other provider: a pull worker thread fetches and parses (pull-worker.ts);
// - in-process: tests that inject an HTTP dispatcher, which cannot cross a thread.

import { Worker } from "node:worker_threads";
import { deserializeError, type SerializedError } from "../errors.js";
import type { UsageDelta, UsageRecorder } from "../http/usage.js";
import type { Provider, PullRequest } from "../providers/provider.js";
import { preparePage, splitPaths, unpackPage, type PackedPage, type PreparedPage } from "./prepare.js";
import type { PullWorkerData } from "./pull-worker.js";

/** What the pull worker sends. Pages are numbered from 0; `done` and `error` take the number of the page they stand in place of. */
export type WorkerMessage =
  | { type: "page"; seq: number; page: PackedPage; usage: UsageDelta[] }
  | { type: "done"; seq: number; usage: UsageDelta[] }
  | { type: "error"; seq: number; error: SerializedError; usage: UsageDelta[] }
  | { type: "log"; line: string };

/** Yields prepared pages; usage counts gathered while fetching a page are absorbed into `usage`. */
export interface PageSource {
  (request: PullRequest, usage: UsageRecorder): AsyncIterable<PreparedPage>;
  /** The engine is about to pull (before the field catalog): start what is slow to start. */
  warm?(): void;
  /** The run is over: stop what `warm` started and no pull used (a run that failed first). */
  release?(): Promise<void>;
}

/** Settings a pull or decoder thread builds its provider from. */
export type ThreadSpec = Omit<PullWorkerData, "request" | "role">;

export function inProcessPages(provider: Provider): PageSource {
  return async function* (request) {
    const volatile = splitPaths(provider.volatilePaths);
    for await (const page of provider.pull(request)) yield preparePage(page, provider, volatile);
  };
}

/**
 * Pages are committed in batches of up to this many records: each commit rewrites every B-tree
 * page it touches (ids and keys arrive in random order), so a 100-issue commit writes several
 * times its own size (measured at 100,000 issues: 1.09 GB written with batches of 1,000, 0.97 GB
 * with 2,000, 0.81 GB with 5,000). Pages are written as they come, so a batch holds no memory of
 * its own. Each page stays whole, and the cursor still moves only with the commit that wrote it.
 */
export const BATCH_RECORDS = 5000;
const BATCH_WAIT_MS = 250;
/**
 * Pages fetched but not yet taken by the engine. A page's credit comes back when it is taken, so
 * parsing goes on while pages are written.
 */
export const WINDOW = 12;
/**
 * Parsed pages are garbage almost at once, so a small young generation costs few copies. Since
 * payloads are serialised straight into bytes (core/hash.ts), a decoder thread allocates ~23 KB
 * per Jira issue: 8 MB per thread was as fast as 16 MB in paired 100k syncs, with ~10 MB less
 * peak RSS (SPEC §9: 250 MB).
 */
export const YOUNG_GENERATION_MB = 8;

/** One place in the page order: a page, or where the listing ended or failed. */
export type Slot = { type: "page"; page: PackedPage } | { type: "done" } | { type: "error"; error: unknown };

/**
 * Numbered pages that may arrive out of order (a decoder thread and this one both produce them),
 * handed out strictly in order, marked where each commit batch ends.
 */
export class PageOrder {
  private readonly early = new Map<number, Slot>();
  private nextSeq = 0;
  private notify: (() => void) | null = null;
  private crashed: unknown = null;

  put(seq: number, slot: Slot): void {
    if (!this.early.has(seq)) this.early.set(seq, slot);
    this.wake();
  }

  /** A thread died: pages already here are still handed out, then this is thrown. */
  crash(err: unknown): void {
    this.crashed ??= err;
    this.wake();
  }

  private wake(): void {
    const n = this.notify;
    this.notify = null;
    n?.();
  }

  private wait(ms: number | null): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = ms === null ? undefined : setTimeout(() => this.wake(), ms);
      this.notify = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * The pages in order, each marked whether the batch it belongs to ends with it (`commit`): the
   * engine writes every page at once, but commits a batch of pages together (see BATCH_RECORDS).
   * A batch ends at BATCH_RECORDS records, or when no next page has arrived by BATCH_WAIT_MS after
   * its first page was taken (a slow tracker's pages are committed one by one, each at most that
   * late), or where the listing ends or fails. To know that, each page is handed out only once
   * the next has arrived or the batch has ended. `onTake` runs as each page is taken, and
   * `onWritten` with a page's payload buffer once the consumer is done with the page.
   */
  async *pages(onTake: () => void, onWritten?: (buffers: ArrayBuffer[]) => void): AsyncGenerator<PreparedPage> {
    let held: PreparedPage | null = null;
    let heldBuffer: ArrayBuffer | null = null;
    let batch = 0; // records in the open batch, the held page's included
    let deadline = 0;
    const handOut = function* (commit: boolean): Generator<PreparedPage> {
      const page = held!;
      page.commit = commit;
      held = null;
      if (commit) batch = 0;
      yield page;
      // The records' payloads are views of this buffer: nothing reads them after the write.
      onWritten?.([heldBuffer!]);
    };
    for (;;) {
      const s = this.early.get(this.nextSeq);
      if (s?.type === "page") {
        this.early.delete(this.nextSeq++);
        onTake();
        const page = unpackPage(s.page);
        if (held) yield* handOut(batch >= BATCH_RECORDS);
        held = page;
        heldBuffer = s.page.raw;
        if (batch === 0) deadline = performance.now() + BATCH_WAIT_MS;
        batch += page.records.length;
        continue;
      }
      if (s !== undefined || this.crashed !== null) {
        // The listing ended or failed: pages before that are still written and committed.
        if (held) yield* handOut(true);
        if (s?.type === "done") return;
        throw s?.type === "error" ? s.error : this.crashed;
      }
      if (held && (batch >= BATCH_RECORDS || performance.now() >= deadline)) {
        yield* handOut(true);
        continue;
      }
      await this.wait(held ? deadline - performance.now() : null);
    }
  }
}

/** A provider without a SplitPull: one worker thread fetches, parses, normalises and packs. */
export function workerPages(spec: ThreadSpec, log?: (line: string) => void): PageSource {
  return async function* (request, usage) {
    const order = new PageOrder();
    const worker = new Worker(new URL("./pull-worker.js", import.meta.url), {
      workerData: { ...spec, request, role: "pull" } satisfies PullWorkerData,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "log") return log?.(m.line);
      // Usage counts are absorbed on arrival (they are totals, order does not matter).
      usage.absorb(m.usage);
      order.put(m.seq, m.type === "error" ? { type: "error", error: deserializeError(m.error) } : m);
    });
    worker.on("error", (err) => order.crash(err));
    worker.on("exit", (code) => {
      if (code !== 0) order.crash(new Error(`the pull worker stopped with exit code ${code}`));
    });
    try {
      // Each page taken gives the worker a credit back (it may run WINDOW pages ahead).
      yield* order.pages(() => worker.postMessage(1));
    } finally {
      await worker.terminate();
    }
  };
}
