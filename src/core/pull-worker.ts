// A worker thread in one of two roles:
// - "pull" (a provider without a SplitPull): fetches pages, parses, normalises and packs them, so
//   the main thread only writes to SQLite. A page is posted only while fewer than the window are
//   waiting to be taken by the main thread (back-pressure: memory stays flat).
// - "decode" (a provider with a SplitPull, Jira): parses, normalises and packs the page bodies the
//   main thread fetched and sent (core/split-source.ts).

import { parentPort, workerData } from "node:worker_threads";
import type { Secret } from "../auth/credentials.js";
import type { ConnectionConfig } from "../config.js";
import { MalformedBodyError, serializeError } from "../errors.js";
import { UsageRecorder } from "../http/usage.js";
import { connectionHttp, type HttpSettings } from "../providers/http.js";
import type { Provider, PullRequest } from "../providers/provider.js";
import { providerModule } from "../providers/registry.js";
import { creditGate } from "./credit.js";
import { WINDOW, type WorkerMessage } from "./page-source.js";
import { BufferPool, packedPage, splitPaths } from "./prepare.js";
import type { DecoderInput, DecoderMessage } from "./split-source.js";

export interface PullWorkerData {
  role: "pull" | "decode";
  name: string;
  conn: ConnectionConfig;
  secret: Secret;
  settings?: Partial<HttpSettings>;
  verbose: boolean;
  /** The pull role's request; the decode role gets it as its first message. */
  request?: PullRequest;
}

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

async function pullRole(): Promise<void> {
  const credit = creditGate(port, WINDOW);
  const post = (m: WorkerMessage) => port.postMessage(m, m.type === "page" ? [m.page.raw] : []);
  const usage = new UsageRecorder();
  let seq = 0;
  try {
    const provider = makeProvider(usage, data.verbose ? (line) => post({ type: "log", line }) : undefined);
    const volatile = splitPaths(provider.volatilePaths);
    for await (const page of provider.pull(data.request!)) {
      await credit.take();
      post({ type: "page", seq, page: packedPage(page, provider, volatile), usage: usage.drain() });
      seq++;
    }
    post({ type: "done", seq, usage: usage.drain() });
  } catch (err) {
    post({ type: "error", seq, error: serializeError(err), usage: usage.drain() });
  }
}

function decodeRole(): void {
  const provider = makeProvider(new UsageRecorder()); // its HTTP client is never used here
  const split = provider.split!;
  const volatile = splitPaths(provider.volatilePaths);
  const pool = new BufferPool(WINDOW + 4);
  let request: PullRequest | null = null; // the first message, before any page
  port.on("message", (job: DecoderInput) => {
    if (job.type === "request") return void (request = job.request);
    if (job.type === "spare") return pool.give(job.buffers);
    let m: DecoderMessage;
    try {
      const page = split.decodePage({ body: Buffer.from(job.body, job.offset, job.length), next: job.next }, request!);
      m = { type: "page", seq: job.seq, page: packedPage(page, provider, volatile, pool, job.length), body: job.body };
    } catch (err) {
      m = { type: "failed", seq: job.seq, error: serializeError(err), malformed: err instanceof MalformedBodyError, body: job.body };
    }
    // The body was parsed into strings of its own: its buffer goes back to be fetched into again.
    port.postMessage(m, m.type === "page" ? [m.page.raw, m.body] : [m.body]);
  });
  const ready: DecoderMessage = { type: "ready" };
  port.postMessage(ready);
}

if (data.role === "decode") {
  decodeRole();
} else {
  await pullRole();
  port.close();
}
