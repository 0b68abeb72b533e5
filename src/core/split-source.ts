// Pages of a provider with a SplitPull (Jira): this thread fetches, one decoder thread parses,
// normalises and packs. Parsing a page costs several times its download, and the page chain
// needs each page's token (read ahead from the bytes) before the next request, so the requests
// go out from here, between the SQLite writes (a page's write takes a few milliseconds), while
// the decoder works through the bodies queued to it. A separate fetch thread would cost
// another V8 heap (~20 MB of RSS) and two more messages per page.

import { Worker } from "node:worker_threads";
import { deserializeError, type SerializedError } from "../errors.js";
import type { Page, Provider, PullRequest, RawPage, SplitPull } from "../providers/provider.js";
import { decodeAgain, decodeWithRetry } from "../providers/split-pull.js";
import { PageOrder, WINDOW, YOUNG_GENERATION_MB, type PageSource, type ThreadSpec } from "./page-source.js";
import { credits } from "./credit.js";
import { BufferPool, packedPage, splitPaths, type PackedPage } from "./prepare.js";
import type { PullWorkerData } from "./pull-worker.js";

/**
 * This thread → decoder: the pull's request (first, before any page), one page body, or payload
 * buffers to reuse (bodies and buffers transferred).
 */
export type DecoderInput = { type: "request"; request: PullRequest } | DecodeJob | { type: "spare"; buffers: ArrayBuffer[] };
export interface DecodeJob {
  type: "decode";
  seq: number;
  body: ArrayBuffer;
  offset: number;
  length: number;
  next: string | null;
}
/** Decoder → this thread; `body` is the job's body buffer, transferred back for the next fetch. */
export type DecoderMessage =
  | { type: "ready" }
  | { type: "page"; seq: number; page: PackedPage; body: ArrayBuffer }
  | { type: "failed"; seq: number; error: SerializedError; malformed: boolean; body: ArrayBuffer };

export function splitPages(provider: Provider, split: SplitPull, spec: ThreadSpec): PageSource {
  // Page bodies are read into these and come back from the decoder (see RequestSpec.bodyBuffer).
  const bodies = new BufferPool(WINDOW + 4);
  // Started by `warm`, before the field catalog is fetched: a thread takes ~0.1–0.2 s to load its
  // modules on a busy machine, time the main thread would otherwise spend decoding pages itself.
  let early: DecoderThread | null = null;
  const startDecoder = () => new DecoderThread({ ...spec, role: "decode" }, split, bodies);
  const source: PageSource = async function* (request) {
    const order = new PageOrder();
    const volatile = splitPaths(provider.volatilePaths);
    const pack = (page: Page) => packedPage(page, provider, volatile);
    let decoder = early; // else set by the fetch loop below
    early = null;
    decoder?.begin(request, order, pack);
    let stopped = false;
    // A page's credit comes back when the engine takes it.
    const credit = credits(WINDOW);

    // Runs alongside the consumer below, on this thread's event loop.
    void (async () => {
      let seq = 0;
      try {
        for await (const raw of split.fetchPages(request, (size) => bodies.take(size))) {
          await credit.take();
          if (stopped) return; // the consumer is gone
          // A page before this one failed, or the decoder died: nothing from here on is written.
          if (decoder?.failure !== undefined) throw decoder.failure;
          // Pages are decoded here until the decoder thread is up (unless warmed, it starts with
          // the second page: a one-page sync never starts it).
          if (seq > 0 && !decoder) {
            decoder = startDecoder();
            decoder.begin(request, order, pack);
          }
          if (decoder?.ready) decoder.send(seq, raw);
          else {
            order.put(seq, { type: "page", page: pack(await decodeWithRetry(split, raw, request)) });
            if (bodies.owns(raw.body.buffer)) bodies.give([raw.body.buffer as ArrayBuffer]);
          }
          seq++; // only now: an error above belongs to this page's place in the order
        }
        order.put(seq, { type: "done" });
      } catch (err) {
        order.put(seq, { type: "error", error: err });
      }
    })();

    try {
      yield* order.pages(
        () => credit.give(1),
        (buffers) => decoder?.giveBack(buffers),
      );
    } finally {
      stopped = true;
      credit.give(WINDOW); // a fetch loop waiting for a credit wakes, sees `stopped` and ends
      await decoder?.close();
    }
  };
  source.warm = () => {
    early ??= startDecoder();
  };
  source.release = async () => {
    const unused = early;
    early = null;
    await unused?.close();
  };
  return source;
}

/** The decoder thread (core/pull-worker.ts in the "decode" role), seen from this thread. */
class DecoderThread {
  private readonly worker: Worker;
  /** Sent and not yet back: kept to fetch a page again when its body does not parse. */
  private readonly inFlight = new Map<number, RawPage>();
  private closing = false;
  /** The thread has started and takes pages. */
  ready = false;
  /** Why a page failed, or the thread died: nothing after it will be written. */
  failure: unknown = undefined;

  /** Set by `begin`: the pull this thread decodes for. */
  private request: PullRequest | null = null;
  private order: PageOrder | null = null;
  private pack: ((page: Page) => PackedPage) | null = null;

  constructor(
    data: PullWorkerData,
    private readonly split: SplitPull,
    private readonly bodies: BufferPool,
  ) {
    this.worker = new Worker(new URL("./pull-worker.js", import.meta.url), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    // Until a pull begins, an idle thread does not keep the process alive.
    this.worker.unref();
    this.worker.on("message", (m: DecoderMessage) => this.receive(m));
    this.worker.on("error", (err) => this.failAll(err));
    this.worker.on("exit", (code) => this.failAll(new Error(`the decoder thread stopped with exit code ${code}`)));
  }

  /** Binds the thread to a pull: the request (with the field catalog) goes to it first. */
  begin(request: PullRequest, order: PageOrder, pack: (page: Page) => PackedPage): void {
    this.request = request;
    this.order = order;
    this.pack = pack;
    this.worker.ref();
    const m: DecoderInput = { type: "request", request };
    this.worker.postMessage(m);
  }

  send(seq: number, raw: RawPage): void {
    this.inFlight.set(seq, raw);
    // Transferred, not copied; a body that shares its memory with other buffers is copied first.
    const whole = raw.body.byteOffset === 0 && raw.body.byteLength === raw.body.buffer.byteLength;
    const own = whole || this.bodies.owns(raw.body.buffer) ? raw.body : new Uint8Array(raw.body);
    const job: DecodeJob = { type: "decode", seq, body: own.buffer as ArrayBuffer, offset: own.byteOffset, length: own.byteLength, next: raw.next };
    this.worker.postMessage(job, [job.body]);
  }

  /** Payload buffers of written pages, for the decoder to pack later pages into. */
  giveBack(buffers: ArrayBuffer[]): void {
    if (this.closing) return;
    const m: DecoderInput = { type: "spare", buffers };
    this.worker.postMessage(m, buffers);
  }

  private receive(m: DecoderMessage): void {
    if (m.type === "ready") {
      this.ready = true;
      return;
    }
    this.bodies.give([m.body]);
    const raw = this.inFlight.get(m.seq);
    this.inFlight.delete(m.seq);
    if (m.type === "page") this.order!.put(m.seq, { type: "page", page: m.page });
    else if (m.malformed && raw) {
      // Fetched once more, here (SPEC §5.3); the page keeps its place in the order.
      decodeAgain(this.split, raw, this.request!).then(
        (page) => this.order!.put(m.seq, { type: "page", page: this.pack!(page) }),
        (err: unknown) => this.fail(m.seq, err),
      );
    } else this.fail(m.seq, deserializeError(m.error));
  }

  private fail(seq: number, err: unknown): void {
    this.failure ??= err;
    this.order?.put(seq, { type: "error", error: err });
  }

  /** The thread died: every page it held fails, and so does the next one fetched. */
  private failAll(err: unknown): void {
    if (this.closing) return;
    this.closing = true;
    this.failure ??= err;
    for (const seq of this.inFlight.keys()) this.fail(seq, err);
    this.inFlight.clear();
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }
}
