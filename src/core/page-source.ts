// Where the engine's prepared pages come from: a pull worker thread (the default: fetching,
// parsing and hashing overlap with the SQLite writes on the main thread), or the same steps
// in-process (tests that inject an HTTP dispatcher, which cannot cross a thread).

import { Worker, type MessagePort } from "node:worker_threads";
import { deserializeError, type SerializedError } from "../errors.js";
import type { UsageDelta, UsageRecorder } from "../http/usage.js";
import type { Provider, PullRequest } from "../providers/provider.js";
import { ACK } from "./credit.js";
import { mergePages, preparePage, splitPaths, unpackPage, type PackedPage, type PreparedPage } from "./prepare.js";
import type { PullWorkerData } from "./pull-worker.js";

/**
 * What the pull worker (and its decoder thread) send. Pages are numbered from 0; `done` and
 * `error` carry the number of the page they stand in place of, so the main thread handles every
 * message in page order whichever thread sent it.
 */
export type WorkerMessage =
  | { type: "page"; seq: number; page: PackedPage; usage: UsageDelta[] }
  | { type: "done"; seq: number; usage: UsageDelta[] }
  | { type: "error"; seq: number; error: SerializedError; usage: UsageDelta[] }
  | { type: "log"; line: string }
  /** The decoder thread's pages arrive on this port. */
  | { type: "decoder"; port: MessagePort };
type OrderedMessage = Extract<WorkerMessage, { seq: number }>;

/** Yields prepared pages; usage counts gathered while fetching a page are absorbed into `usage`. */
export type PageSource = (request: PullRequest, usage: UsageRecorder) => AsyncIterable<PreparedPage>;

export function inProcessPages(provider: Provider): PageSource {
  return async function* (request) {
    const volatile = splitPaths(provider.volatilePaths);
    for await (const page of provider.pull(request)) yield preparePage(page, provider, volatile);
  };
}

/**
 * Pages already waiting when the main thread is ready are committed together, up to this many
 * records: each commit rewrites every B-tree page it touches (ids and keys arrive in random
 * order), so a 100-issue commit writes several times its own size. Each page stays whole, and
 * the cursor still moves only with the commit that wrote its page.
 */
export const GROUP_RECORDS = 1000;
const GROUP_WAIT_MS = 250;
/** Pages the pull worker may run ahead of the writes: enough to fill a group, few enough for RSS. */
const WINDOW = 12;
/**
 * Parsed pages are garbage almost at once: a young generation larger than the default means
 * fewer scavenges, and 16 MB per thread keeps a 100k sync under SPEC §9's 250 MB peak RSS.
 */
export const YOUNG_GENERATION_MB = 16;
/** A fetcher that hands its pages to a decoder thread allocates little (measured: −10 MB RSS). */
const FETCHER_YOUNG_GENERATION_MB = 6;

export function workerPages(provider: Pick<Provider, "split">, spec: Omit<PullWorkerData, "request" | "window">, log?: (line: string) => void): PageSource {
  return async function* (request, usage) {
    const worker = new Worker(new URL("./pull-worker.js", import.meta.url), {
      workerData: { ...spec, request, window: WINDOW } satisfies PullWorkerData,
      resourceLimits: { maxYoungGenerationSizeMb: provider.split ? FETCHER_YOUNG_GENERATION_MB : YOUNG_GENERATION_MB },
    });
    const queue: OrderedMessage[] = [];
    // Messages that arrived ahead of their turn, by page number.
    const early = new Map<number, OrderedMessage>();
    let nextSeq = 0;
    let notify: (() => void) | null = null;
    let crashed: Error | null = null;
    const decoderPorts: MessagePort[] = [];
    const onMessage = (m: WorkerMessage) => {
      if (m.type === "log") log?.(m.line);
      else if (m.type === "decoder") {
        decoderPorts.push(m.port);
        m.port.on("message", onMessage);
      } else {
        // Usage counts are absorbed on arrival (they are totals, order does not matter).
        usage.absorb(m.usage);
        if (!early.has(m.seq)) early.set(m.seq, m);
        for (let next = early.get(nextSeq); next; next = early.get(nextSeq)) {
          early.delete(nextSeq);
          queue.push(next);
          if (next.type !== "page") break;
          nextSeq++;
        }
      }
      notify?.();
    };
    worker.on("message", onMessage);
    worker.on("error", (err) => {
      crashed = err;
      notify?.();
    });
    worker.on("exit", (code) => {
      if (code !== 0 && !crashed) crashed = new Error(`the pull worker stopped with exit code ${code}`);
      notify?.();
    });
    const wait = (ms: number | null) =>
      new Promise<void>((resolve) => {
        const timer = ms === null ? undefined : setTimeout(() => notify?.(), ms);
        notify = () => {
          clearTimeout(timer);
          notify = null;
          resolve();
        };
      });
    try {
      for (;;) {
        // Gather pages until the group is full, the worker is done, or the first page has waited
        // GROUP_WAIT_MS (a slow tracker's pages are then committed one by one, each at most that
        // late: committing each page the moment it arrives costs the write amplification above).
        const group: PreparedPage[] = [];
        let records = 0;
        let end: WorkerMessage | undefined;
        let deadline = 0;
        for (;;) {
          while (queue.length && records < GROUP_RECORDS && !end) {
            const m = queue.shift()!;
            if (m.type !== "page") {
              end = m;
              break;
            }
            const page = unpackPage(m.page);
            if (!group.length) deadline = performance.now() + GROUP_WAIT_MS;
            group.push(page);
            records += page.records.length;
          }
          // Nothing more can come while every credit is held by a page here.
          if (end || records >= GROUP_RECORDS || crashed || group.length + early.size >= WINDOW) break;
          const left = group.length ? deadline - performance.now() : null;
          if (left !== null && left <= 0) break;
          await wait(left);
        }
        if (!group.length && !end) throw crashed!;
        if (group.length) {
          yield mergePages(group);
          // The pages are written by now: let the worker send as many more.
          for (let i = 0; i < group.length; i++) worker.postMessage(ACK);
        }
        if (end?.type === "done") return;
        if (end?.type === "error") throw deserializeError(end.error);
      }
    } finally {
      for (const p of decoderPorts) p.close();
      await worker.terminate();
    }
  };
}
