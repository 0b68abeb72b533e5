// The pull worker: fetches pages, parses, normalises and hashes them on its own thread, so the
// main thread only writes to SQLite. A page is posted only when the main thread has acknowledged
// all but a small window of earlier ones (back-pressure: memory stays flat).

import { parentPort, workerData } from "node:worker_threads";
import type { Secret } from "../auth/credentials.js";
import type { ConnectionConfig } from "../config.js";
import { serializeError } from "../errors.js";
import { UsageRecorder } from "../http/usage.js";
import { connectionHttp, type HttpSettings } from "../providers/http.js";
import type { PullRequest } from "../providers/provider.js";
import { providerModule } from "../providers/registry.js";
import { creditGate } from "./credit.js";
import { packPage, preparePage, splitPaths } from "./prepare.js";
import type { WorkerMessage } from "./page-source.js";

export interface PullWorkerData {
  name: string;
  conn: ConnectionConfig;
  secret: Secret;
  settings?: Partial<HttpSettings>;
  verbose: boolean;
  request: PullRequest;
  window: number;
}

const data = workerData as PullWorkerData;
const port = parentPort!;
const credit = creditGate(port, data.window);

const post = (m: WorkerMessage) => port.postMessage(m, m.type === "page" ? [m.page.raw] : []);

async function run(): Promise<void> {
  const usage = new UsageRecorder();
  try {
    const http = connectionHttp({
      name: data.name,
      conn: data.conn,
      secret: data.secret,
      usage,
      ...(data.settings ? { settings: data.settings } : {}),
      ...(data.verbose ? { log: (line: string) => post({ type: "log", line }) } : {}),
    });
    const provider = providerModule(data.conn.provider).create({ connectionName: data.name, config: data.conn, secret: data.secret, http });
    const volatile = splitPaths(provider.volatilePaths);
    for await (const page of provider.pull(data.request)) {
      const prepared = preparePage(page, provider, volatile, false);
      await credit.take();
      post({ type: "page", page: packPage(prepared), usage: usage.drain() });
    }
    post({ type: "done", usage: usage.drain() });
  } catch (err) {
    post({ type: "error", error: serializeError(err), usage: usage.drain() });
  }
}

await run();
port.close();
