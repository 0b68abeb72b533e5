// undici's `request`, loaded without the rest of the package. Its index also loads fetch,
// WebSocket, EventSource, the HTTP cache and the mock agents: ~70 ms before the first request of
// every sync, against ~25 ms for the two modules `undici.request` is built from (the request API
// and the global dispatcher). package-lock.json pins undici; the HTTP tests would fail at once if
// a new version moved these files.

import { createRequire } from "node:module";
import type { Dispatcher } from "undici";

type RequestOptions = { dispatcher?: Dispatcher } & Omit<Dispatcher.RequestOptions, "origin" | "path" | "method"> & Partial<Pick<Dispatcher.RequestOptions, "method">>;
export type UndiciRequest = (url: string, opts: RequestOptions) => Promise<Dispatcher.ResponseData>;

let loaded: UndiciRequest | undefined;

export function undiciRequest(): UndiciRequest {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const apiRequest = require("undici/lib/api/api-request.js") as (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;
  const { getGlobalDispatcher } = require("undici/lib/global.js") as { getGlobalDispatcher(): Dispatcher };
  // What undici's index wraps `request` in (makeDispatcher), for a URL string.
  loaded = (url, { dispatcher, ...opts }) => {
    const u = new URL(url);
    return apiRequest.call(dispatcher ?? getGlobalDispatcher(), {
      ...opts,
      origin: u.origin,
      path: u.search ? `${u.pathname}${u.search}` : u.pathname,
      method: opts.method ?? (opts.body ? "PUT" : "GET"),
    });
  };
  return loaded;
}
