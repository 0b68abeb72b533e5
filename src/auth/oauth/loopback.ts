// The loopback redirect receiver (RFC 8252): binds 127.0.0.1 only, accepts exactly one callback
// on the exact path, checks `state`, and answers the browser with a static page that reflects
// nothing from the request. Ends on the first callback, an error, or the timeout.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { AuthError, UsageError } from "../../errors.js";

export const CALLBACK_PATH = "/callback";

export interface LoopbackOptions {
  /** 0 = any free port (providers that allow it); otherwise the registered fixed port. */
  port: number;
  state: string;
  timeoutMs: number;
}

export interface Loopback {
  redirectUri: string;
  /** Resolves with the authorization code; rejects on a wrong state, an `error=`, or the timeout. */
  code: Promise<string>;
  close(): void;
}

const PAGE = (title: string, text: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>pmsync</title></head><body style="font-family:sans-serif;margin:3em"><h1>${title}</h1><p>${text}</p></body></html>`;
const DONE = PAGE("pmsync: signed in", "You can close this tab and return to the terminal.");
const FAILED = PAGE("pmsync: sign-in failed", "Return to the terminal for details.");

export async function startLoopback(opts: LoopbackOptions): Promise<Loopback> {
  let settle: { resolve: (code: string) => void; reject: (err: Error) => void } | null = null;
  const code = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  code.catch(() => undefined); // the caller awaits it; this only silences an early rejection
  let done = false;
  const finish = (res: ServerResponse, ok: boolean, outcome: () => void) => {
    res.writeHead(ok ? 200 : 400, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(ok ? DONE : FAILED);
    done = true;
    clearTimeout(timer);
    outcome();
    server.close();
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== CALLBACK_PATH || done) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("Not found");
      return;
    }
    const q = url.searchParams;
    if (q.get("state") !== opts.state) {
      finish(res, false, () => settle!.reject(new AuthError("the OAuth callback carried a wrong state; the login was stopped (a stale or forged redirect?)", { hint: "run the login again" })));
      return;
    }
    const error = q.get("error");
    if (error) {
      const description = q.get("error_description");
      finish(res, false, () =>
        settle!.reject(new AuthError(`the authorization was refused: ${error}${description ? ` (${description})` : ""}`, { hint: "run the login again and approve the access" })),
      );
      return;
    }
    const c = q.get("code");
    if (!c) {
      finish(res, false, () => settle!.reject(new AuthError("the OAuth callback carried no code", { hint: "run the login again" })));
      return;
    }
    finish(res, true, () => settle!.resolve(c));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") {
        reject(
          new UsageError(`port ${opts.port} on 127.0.0.1 is busy, so the login cannot receive the browser's redirect`, {
            hint: "close whatever uses it, or pass --port with the port registered for this app",
          }),
        );
      } else reject(err);
    });
    server.listen(opts.port, "127.0.0.1", () => resolve());
  });
  const timer = setTimeout(() => {
    if (done) return;
    done = true;
    server.close();
    settle!.reject(new AuthError(`no answer from the browser within ${Math.round(opts.timeoutMs / 1000)} s; the login was stopped`, { hint: "run the login again" }));
  }, opts.timeoutMs);
  const port = (server.address() as AddressInfo).port;
  return {
    redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    code,
    close: () => {
      clearTimeout(timer);
      server.close();
    },
  };
}
