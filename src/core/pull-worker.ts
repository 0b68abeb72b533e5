// The pull worker: fetches pages, parses, normalises and hashes them on its own thread, so the
// main thread only writes to SQLite. A page is posted only when the main thread has acknowledged
// all but a window of earlier ones (back-pressure: memory stays flat).
//
// For a provider with a SplitPull (Jira), parsing a page costs several times its download, so
// this thread starts a second one of itself in the "decode" role and only fetches: it hands each
// page body to the decoder and asks for the next page at once. Pages are numbered (`seq`); the
// decoder posts its pages straight to the main thread, which puts them back in order.

import { MessageChannel, parentPort, Worker, workerData, type MessagePort } from "node:worker_threads";
import type { Secret } from "../auth/credentials.js";
import type { ConnectionConfig } from "../config.js";
import { MalformedBodyError, serializeError, type SerializedError } from "../errors.js";
import { UsageRecorder } from "../http/usage.js";
import { connectionHttp, type HttpSettings } from "../providers/http.js";
import type { Page, Provider, PullRequest, RawPage, SplitPull } from "../providers/provider.js";
import { providerModule } from "../providers/registry.js";
import { decodeAgain, decodeWithRetry } from "../providers/split-pull.js";
import { creditGate } from "./credit.js";
import { YOUNG_GENERATION_MB, type WorkerMessage } from "./page-source.js";
import { packPage, preparePage, splitPaths } from "./prepare.js";

export interface PullWorkerData {
  name: string;
  conn: ConnectionConfig;
  secret: Secret;
  settings?: Partial<HttpSettings>;
  verbose: boolean;
  request: PullRequest;
  window: number;
  /** Set for the decoder thread: where its pages go (a port to the main thread). */
  decodeTo?: MessagePort;
}

/** Fetcher → decoder: one page body (transferred). */
interface DecodeJob {
  seq: number;
  body: ArrayBuffer;
  offset: number;
  length: number;
  next: string | null;
}
/** Decoder → fetcher: the page was posted, or could not be decoded. */
type DecodeReport =
  | { type: "ready" }
  | { type: "decoded"; seq: number }
  | { type: "failed"; seq: number; error: SerializedError; malformed: boolean };


const data = workerData as PullWorkerData;
const port = parentPort!;

function makeProvider(usage: UsageRecorder, log?: (line: string) => void): Provider {
  const http = connectionHttp({
    name: data.name,
    conn: data.conn,
    secret: data.secret,
    usage,
    ...(data.settings ? { settings: data.settings } : {}),
    ...(log ? { log } : {}),
  });
  return providerModule(data.conn.provider).create({ connectionName: data.name, config: data.conn, secret: data.secret, http });
}

function packed(page: Page, provider: Provider, volatile: string[][]) {
  return packPage(preparePage(page, provider, volatile, false));
}

async function fetchRole(): Promise<void> {
  const credit = creditGate(port, data.window);
  const post = (m: WorkerMessage) => port.postMessage(m, m.type === "page" ? [m.page.raw] : []);
  const usage = new UsageRecorder();
  let seq = 0;
  let decoder: Decoder | null = null;
  try {
    const provider = makeProvider(usage, data.verbose ? (line) => post({ type: "log", line }) : undefined);
    const volatile = splitPaths(provider.volatilePaths);
    const postPage = (s: number, page: Page) => post({ type: "page", seq: s, page: packed(page, provider, volatile), usage: usage.drain() });
    const split = provider.split;
    if (!split) {
      for await (const page of provider.pull(data.request)) {
        await credit.take();
        postPage(seq, page);
        seq++;
      }
    } else {
      const fail = (s: number, error: SerializedError) => post({ type: "error", seq: s, error, usage: usage.drain() });
      for await (const raw of split.fetchPages(data.request)) {
        if (decoder?.failed) break;
        await credit.take();
        // Pages are decoded here until the decoder thread is up (it starts with the second page,
        // so a one-page sync never starts it; its start-up would delay a ten-page sync). From then
        // on they queue at the decoder (at most the credit window) and this thread stays free to
        // fetch (measured: a fetcher that also decodes when the decoder is busy is no faster and
        // needs more memory; so does a second decoder).
        if (seq > 0) decoder ??= new Decoder(split, postPage, fail);
        if (decoder?.ready) decoder.send(seq, raw);
        else postPage(seq, await decodeWithRetry(split, raw, data.request));
        seq++; // only now: an error above belongs to this page's place in the order
      }
      // The decoder's pages must all be posted (or retried) before this thread says it is done.
      if (decoder && (await decoder.drain())) return;
    }
    post({ type: "done", seq, usage: usage.drain() });
  } catch (err) {
    await decoder?.drain();
    post({ type: "error", seq, error: serializeError(err), usage: usage.drain() });
  } finally {
    await decoder?.close();
  }
}

/** The decoder thread, seen from the fetcher. */
class Decoder {
  private readonly worker: Worker;
  private readonly inFlight = new Map<number, RawPage>();
  private drained: (() => void) | null = null;
  failed = false;
  /** The thread has started and takes pages. */
  ready = false;

  constructor(
    private readonly split: SplitPull,
    private readonly postPage: (seq: number, page: Page) => void,
    private readonly fail: (seq: number, error: SerializedError) => void,
  ) {
    const { port1, port2 } = new MessageChannel();
    const announce: WorkerMessage = { type: "decoder", port: port2 };
    port.postMessage(announce, [port2]);
    this.worker = new Worker(new URL(import.meta.url), {
      workerData: { ...data, decodeTo: port1 } satisfies PullWorkerData,
      transferList: [port1],
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    this.worker.on("message", (m: DecodeReport) => this.report(m));
    this.worker.on("error", (err) => this.failAll(err));
    this.worker.on("exit", (code) => {
      if (this.inFlight.size) this.failAll(new Error(`the decoder thread stopped with exit code ${code}`));
    });
  }

  send(seq: number, raw: RawPage): void {
    this.inFlight.set(seq, raw);
    // Transferred, not copied; a body that shares its memory with other buffers is copied first.
    const own = raw.body.byteOffset === 0 && raw.body.byteLength === raw.body.buffer.byteLength ? raw.body : new Uint8Array(raw.body);
    const job: DecodeJob = { seq, body: own.buffer as ArrayBuffer, offset: own.byteOffset, length: own.byteLength, next: raw.next };
    this.worker.postMessage(job, [job.body]);
  }

  private report(m: DecodeReport): void {
    if (m.type === "ready") {
      this.ready = true;
      return;
    }
    const raw = this.inFlight.get(m.seq);
    if (!raw) return;
    if (m.type === "failed" && m.malformed) {
      // Retried once, here (SPEC §5.3); the page keeps its place in the order.
      // settle() runs only when the retry is over, so drain() waits for it.
      void decodeAgain(this.split, raw, data.request)
        .then((page) => this.postPage(m.seq, page))
        .catch((err) => this.failAt(m.seq, serializeError(err)))
        .finally(() => this.settle(m.seq));
      return;
    }
    if (m.type === "failed") this.failAt(m.seq, m.error);
    this.settle(m.seq);
  }

  private failAt(seq: number, error: SerializedError): void {
    this.failed = true;
    this.fail(seq, error);
  }

  private failAll(err: unknown): void {
    for (const seq of [...this.inFlight.keys()]) {
      this.failAt(seq, serializeError(err));
      this.settle(seq);
    }
  }

  private settle(seq: number): void {
    this.inFlight.delete(seq);
    if (!this.inFlight.size) this.drained?.();
  }

  /** Waits until every page sent is posted or failed; true when one failed. */
  async drain(): Promise<boolean> {
    if (this.inFlight.size) await new Promise<void>((r) => (this.drained = r));
    return this.failed;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/** The decoder thread: parses, normalises and packs the pages the fetcher sends. */
function decodeRole(out: MessagePort): void {
  const provider = makeProvider(new UsageRecorder()); // its HTTP client is never used here
  const split = provider.split!;
  const volatile = splitPaths(provider.volatilePaths);
  port.on("message", (job: DecodeJob) => {
    let report: DecodeReport;
    try {
      const page = split.decodePage({ body: Buffer.from(job.body, job.offset, job.length), next: job.next }, data.request);
      const m: WorkerMessage = { type: "page", seq: job.seq, page: packed(page, provider, volatile), usage: [] };
      out.postMessage(m, [m.page.raw]);
      report = { type: "decoded", seq: job.seq };
    } catch (err) {
      report = { type: "failed", seq: job.seq, error: serializeError(err), malformed: err instanceof MalformedBodyError };
    }
    port.postMessage(report);
  });
  const ready: DecodeReport = { type: "ready" };
  port.postMessage(ready);
}

if (data.decodeTo) {
  decodeRole(data.decodeTo);
} else {
  await fetchRole();
  port.close();
}
