// One HTTP client for every provider (SPEC §5.3, §10): timeouts, retries with exponential
// backoff and jitter on network errors, 429 and 5xx (honouring Retry-After), a bounded give-up,
// one retry for a malformed or truncated body, redaction, and usage accounting.

import type { Dispatcher } from "undici";
import { undiciRequest } from "./undici-request.js";
import { jsonText } from "./json-text.js";
import { AuthError, MalformedBodyError, NetworkError, RemoteError } from "../errors.js";
import { redactText, redactUrl } from "./redact.js";
import type { RequestOutcome, UsageRecorder } from "./usage.js";

export interface HttpClientOptions {
  baseUrl: string;
  /** Headers added to every request (auth); called per request so refreshed tokens apply. */
  headers: () => Record<string, string>;
  usage: UsageRecorder;
  /** Says what to run when credentials are rejected, e.g. `pmsync login jira --name work`. */
  loginHint: string;
  dispatcher?: Dispatcher;
  timeoutMs?: number;
  maxRetries?: number;
  maxRetryWaitMs?: number;
  /** Secret values to scrub from any text pmsync prints. */
  secrets?: string[];
  log?: (line: string) => void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => Date;
  /**
   * The provider's reading of a non-2xx response, asked before the generic rules: GitHub's 403
   * with `x-ratelimit-remaining: 0`, Linear's HTTP 400 `RATELIMITED`. Null = the generic rules.
   */
  classify?: ResponseClassifier;
}

/** A provider's verdict on an error response: retry it (after `waitMs`, null = backoff). */
export interface RetryVerdict {
  retry: true;
  rateLimited: boolean;
  waitMs: number | null;
  reason: string;
}
export type ResponseClassifier = (res: { status: number; headers: Record<string, string>; text: string; now: Date }) => RetryVerdict | null;

export interface RequestSpec {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Path relative to the base URL, or an absolute URL. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Sent as application/x-www-form-urlencoded instead of a JSON body (OAuth token endpoints). */
  form?: Record<string, string>;
  /** Class of endpoint for the usage report, e.g. `search`. */
  endpoint: string;
  /** Extra headers for this request (e.g. `If-None-Match`). */
  headers?: Record<string, string>;
  /**
   * Non-2xx statuses the caller handles itself (e.g. 304 Not Modified, 404/410 for a deleted
   * issue): returned as a response instead of raising an error, with `data` = the JSON body when
   * there is one (undefined otherwise).
   */
  accept?: readonly number[];
  /**
   * Where a response body of known length is read into (a buffer the caller hands out and reuses:
   * a fresh ~500 KB allocation per page costs page faults, and unmapping it on another thread
   * costs more); a body without a Content-Length gets a buffer of its own.
   */
  bodyBuffer?: (size: number) => ArrayBuffer;
}

export interface JsonResponse<T> {
  status: number;
  headers: Record<string, string>;
  data: T;
}

export const HTTP_DEFAULTS = { timeoutMs: 60_000, maxRetries: 5, maxRetryWaitMs: 120_000 } as const;
const MAX_BODY_RETRIES = 1;
const BASE_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** The body, a view into its own ArrayBuffer (transferable to another thread). */
  body: Buffer;
}
type Decoded<T> = { ok: true; data: T } | { ok: false; error: RemoteError };

type Attempt =
  | ({ kind: "ok"; accepted?: boolean } & RawResponse)
  | { kind: "retry"; reason: string; waitMs: number | null; rateLimited: boolean; bodyProblem: boolean }
  | { kind: "fail"; error: Error };

export class HttpClient {
  private readonly opts: Required<Omit<HttpClientOptions, "dispatcher" | "log" | "classify">> &
    Pick<HttpClientOptions, "dispatcher" | "log" | "classify">;

  constructor(options: HttpClientOptions) {
    this.opts = {
      timeoutMs: HTTP_DEFAULTS.timeoutMs,
      maxRetries: HTTP_DEFAULTS.maxRetries,
      maxRetryWaitMs: HTTP_DEFAULTS.maxRetryWaitMs,
      secrets: [],
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      random: Math.random,
      now: () => new Date(),
      ...options,
    };
  }

  get usage(): UsageRecorder {
    return this.opts.usage;
  }

  url(spec: Pick<RequestSpec, "path" | "query">): string {
    const base = this.opts.baseUrl.replace(/\/+$/, "");
    const u = new URL(/^https?:\/\//.test(spec.path) ? spec.path : base + spec.path);
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  async json<T>(spec: RequestSpec): Promise<JsonResponse<T>> {
    return this.send(spec, (res, shown) => this.parse<T>(res, shown));
  }

  /**
   * The body as bytes, for a caller that parses it elsewhere (a decoder thread). Retried like
   * `json`; a body that is not JSON-shaped (HTML, wrong content type, cut off before its closing
   * bracket) counts as malformed and is retried once.
   */
  async jsonBytes(spec: RequestSpec): Promise<JsonResponse<Buffer>> {
    return this.send(spec, (res, shown) => {
      const problem = notJson(res);
      if (problem) return { ok: false, error: this.notJsonError(res, shown, problem) };
      const first = firstNonSpace(res.body);
      const last = lastNonSpace(res.body);
      const whole = (first === 0x7b && last === 0x7d) || (first === 0x5b && last === 0x5d);
      if (!whole) return { ok: false, error: malformed(shown, res, "it does not end where it began: cut off or garbled") };
      return { ok: true, data: res.body };
    });
  }

  private async send<T>(spec: RequestSpec, decode: (res: RawResponse, shown: string) => Decoded<T>): Promise<JsonResponse<T>> {
    const url = this.url(spec);
    const shown = redactUrl(url);
    let attempt = 0;
    let bodyRetries = 0;
    let waitedMs = 0;
    for (;;) {
      const { result, outcome } = await this.attempt(spec, url, shown, attempt > 0);
      if (result.kind === "fail") {
        this.opts.usage.record(outcome);
        throw result.error;
      }
      if (result.kind === "ok") {
        if (result.accepted) {
          this.opts.usage.record(outcome);
          const parsed = result.body.length ? this.parse<T>(result, shown) : null;
          return { status: result.status, headers: result.headers, data: (parsed?.ok ? parsed.data : undefined) as T };
        }
        const decoded = decode(result, shown);
        if (decoded.ok) {
          this.opts.usage.record(outcome);
          return { status: result.status, headers: result.headers, data: decoded.data };
        }
        outcome.error = true;
        this.opts.usage.record(outcome);
        if (bodyRetries >= MAX_BODY_RETRIES) throw decoded.error;
        bodyRetries++;
        this.log(`  ${decoded.error.message}; retrying once`);
        attempt++;
        continue;
      }
      if (result.bodyProblem) {
        if (bodyRetries >= MAX_BODY_RETRIES) {
          this.opts.usage.record(outcome);
          throw new RemoteError(`${spec.method} ${shown}: ${result.reason} (twice); nothing from this response was used`);
        }
        bodyRetries++;
      }
      const reason = result.reason;
      if (attempt >= this.opts.maxRetries) {
        this.opts.usage.record(outcome);
        throw this.giveUp(spec, shown, attempt + 1, waitedMs, reason, result.rateLimited);
      }
      const wait = result.waitMs ?? this.backoff(attempt);
      if (waitedMs + wait > this.opts.maxRetryWaitMs) {
        this.opts.usage.record(outcome);
        throw this.giveUp(spec, shown, attempt + 1, waitedMs, reason, result.rateLimited, wait);
      }
      // The wait is charged to the attempt that caused it.
      outcome.waitMs = wait;
      outcome.rateLimitWait = result.rateLimited;
      this.opts.usage.record(outcome);
      this.log(`  ${reason}; retry ${attempt + 1}/${this.opts.maxRetries} in ${(wait / 1000).toFixed(1)} s`);
      await this.opts.sleep(wait);
      waitedMs += wait;
      attempt++;
    }
  }

  private emptyOutcome(endpoint: string, status: number): RequestOutcome {
    return { at: this.opts.now(), endpoint, status, error: false, retry: false, rateLimitWait: false, waitMs: 0, bytesIn: 0, bytesOut: 0, rateLimit: null, rateRemaining: null, rateReset: null };
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** attempt);
    // "Equal jitter": at least half the ceiling, so retries never hammer the server.
    return Math.round(ceiling / 2 + this.opts.random() * (ceiling / 2));
  }

  private giveUp(
    spec: RequestSpec,
    shown: string,
    attempts: number,
    waitedMs: number,
    reason: string,
    rateLimited: boolean,
    nextWaitMs?: number,
  ): Error {
    const next =
      nextWaitMs !== undefined
        ? `; the next wait (${Math.ceil(nextWaitMs / 1000)} s) would pass the ${Math.round(this.opts.maxRetryWaitMs / 1000)} s retry budget (--max-retry-wait)`
        : "";
    const msg = `${spec.method} ${shown}: gave up after ${attempts} attempt(s) and ${Math.round(waitedMs / 1000)} s of waiting: ${reason}${next}`;
    const hint = rateLimited ? "the tracker is rate-limiting this account; run again later" : undefined;
    return rateLimited ? new RemoteError(msg, hint ? { hint } : undefined) : new NetworkError(msg);
  }

  private log(line: string): void {
    this.opts.log?.(redactText(line, this.opts.secrets));
  }

  private async attempt(spec: RequestSpec, url: string, shown: string, isRetry: boolean): Promise<{ result: Attempt; outcome: RequestOutcome }> {
    const started = performance.now();
    const headers: Record<string, string> = { accept: "application/json", ...this.opts.headers(), ...spec.headers };
    let body: string | undefined;
    if (spec.form !== undefined) {
      body = new URLSearchParams(spec.form).toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    } else if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers["content-type"] = "application/json";
    }
    const bytesOut = body ? Buffer.byteLength(body) : 0;
    const outcome: RequestOutcome = { ...this.emptyOutcome(spec.endpoint, 0), retry: isRetry, bytesOut };
    const done = (result: Attempt) => ({ result, outcome });
    this.log(`→ ${spec.method} ${shown}`);
    let status = 0;
    let resHeaders: Record<string, string> = {};
    try {
      // undici is loaded on the first request, so commands that never call a tracker skip it.
      const res = await undiciRequest()(url, {
        method: spec.method,
        headers,
        body,
        dispatcher: this.opts.dispatcher,
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      status = res.statusCode;
      resHeaders = flattenHeaders(res.headers);
      outcome.status = status;
      readRateHeaders(resHeaders, outcome);
      let resBody: Buffer;
      try {
        const length = Number(res.headers["content-length"]);
        const bytes = spec.bodyBuffer && Number.isSafeInteger(length) && length > 0 ? await readInto(res.body, spec.bodyBuffer(length)) : await res.body.bytes();
        resBody = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        // A UTF-8 byte order mark is not part of the JSON (undici's text() dropped it too).
        if (resBody[0] === 0xef && resBody[1] === 0xbb && resBody[2] === 0xbf) resBody = resBody.subarray(3);
      } catch (err) {
        outcome.error = true;
        const reason = `response body cut off (${describeNetworkError(err)})`;
        this.log(`← ${status} ${reason}`);
        return done({ kind: "retry", reason, waitMs: 0, rateLimited: false, bodyProblem: true });
      }
      outcome.bytesIn = resBody.length;
      const ms = performance.now() - started;
      this.log(`← ${status} ${formatBytes(outcome.bytesIn)} ${Math.round(ms)} ms`);

      if (status >= 200 && status < 300) {
        return done({ kind: "ok", status, headers: resHeaders, body: resBody });
      }
      const text = resBody.toString();
      // The provider's rate-limit reading first: a rate-limit answer is retried even on a status
      // the caller accepts (Linear's RATELIMITED arrives as HTTP 400).
      const verdict = this.opts.classify?.({ status, headers: resHeaders, text, now: this.opts.now() });
      if (verdict) {
        outcome.error = true;
        return done({ kind: "retry", reason: verdict.reason, waitMs: verdict.waitMs, rateLimited: verdict.rateLimited, bodyProblem: false });
      }
      if (spec.accept?.includes(status)) {
        return done({ kind: "ok", status, headers: resHeaders, body: resBody, accepted: true });
      }
      outcome.error = true;
      if (status === 429 || status === 503 || (status >= 500 && status <= 599)) {
        const retryAfter = parseRetryAfter(resHeaders["retry-after"], this.opts.now());
        const rateLimited = status === 429 || retryAfter !== null;
        const reason = `HTTP ${status}${rateLimited ? " (rate limited)" : ""}`;
        return done({ kind: "retry", reason, waitMs: retryAfter, rateLimited, bodyProblem: false });
      }
      const detail = redactText(errorDetail(text), this.opts.secrets);
      if (status === 401) {
        return done({
          kind: "fail",
          error: new AuthError(`the tracker rejected the credentials (HTTP 401 from ${shown})${detail ? `: ${detail}` : ""}`, {
            hint: `run \`${this.opts.loginHint}\``,
          }),
        });
      }
      if (status === 403) {
        return done({
          kind: "fail",
          error: new RemoteError(`permission denied (HTTP 403 from ${shown})${detail ? `: ${detail}` : ""}`, {
            status,
            hint: `check that the account can see this; \`${this.opts.loginHint}\` switches accounts`,
          }),
        });
      }
      return done({ kind: "fail", error: new RemoteError(`HTTP ${status} from ${spec.method} ${shown}${detail ? `: ${detail}` : ""}`, { status }) });
    } catch (err) {
      outcome.error = true;
      const reason = describeNetworkError(err);
      this.log(`← ${reason}`);
      return done({ kind: "retry", reason, waitMs: null, rateLimited: false, bodyProblem: false });
    }
  }

  private parse<T>(res: RawResponse, shown: string): Decoded<T> {
    if (res.status === 204 || res.body.length === 0) return { ok: true, data: undefined as T };
    const problem = notJson(res);
    if (problem) return { ok: false, error: this.notJsonError(res, shown, problem) };
    try {
      return { ok: true, data: JSON.parse(jsonText(res.body)) as T };
    } catch (err) {
      return { ok: false, error: malformed(shown, res, (err as Error).message) };
    }
  }

  private notJsonError(res: RawResponse, shown: string, what: string): RemoteError {
    return new RemoteError(`${shown} answered with ${what} instead of JSON (a login page, proxy or maintenance page?)`, {
      status: res.status,
      hint: "check the site URL and that the tracker is up",
    });
  }
}

/** What the body is when it is plainly not JSON (HTML, another content type); null otherwise. */
function notJson(res: RawResponse): string | null {
  const type = res.headers["content-type"] ?? "";
  const html = firstNonSpace(res.body) === 0x3c; // "<"
  if (/json/i.test(type) && !html) return null;
  return /html/i.test(type) || html ? "an HTML page" : `"${type || "no content type"}"`;
}

function malformed(shown: string, res: Pick<RawResponse, "body"> & { status?: number }, why: string): MalformedBodyError {
  return new MalformedBodyError(`${shown} answered with malformed JSON (${why}, ${res.body.length} bytes)`, res.status === undefined ? undefined : { status: res.status });
}

/** Parses a body fetched with `jsonBytes`; `shown` names where it came from in the error. */
export function parseJsonBody<T>(body: Buffer, shown: string): T {
  try {
    return JSON.parse(jsonText(body)) as T;
  } catch (err) {
    throw malformed(shown, { body }, (err as Error).message);
  }
}

const isSpace = (b: number | undefined) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
/** The index of the first byte at or after `i` that is not JSON whitespace. */
export function skipJsonSpace(buf: Buffer, i: number): number {
  while (isSpace(buf[i])) i++;
  return i;
}
function firstNonSpace(buf: Buffer): number {
  return buf[skipJsonSpace(buf, 0)] ?? -1;
}
function lastNonSpace(buf: Buffer): number {
  let i = buf.length - 1;
  while (isSpace(buf[i])) i--;
  return buf[i] ?? -1;
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
  return out;
}

function readRateHeaders(h: Record<string, string>, o: { rateLimit: number | null; rateRemaining: number | null; rateReset: string | null }): void {
  // GitHub and Jira: x-ratelimit-*; Linear: x-ratelimit-requests-* (reset in epoch ms).
  const limit = h["x-ratelimit-limit"] ?? h["x-ratelimit-requests-limit"];
  const remaining = h["x-ratelimit-remaining"] ?? h["x-ratelimit-requests-remaining"];
  const reset = h["x-ratelimit-reset"] ?? h["x-ratelimit-requests-reset"];
  if (limit !== undefined && /^\d+$/.test(limit)) o.rateLimit = Number(limit);
  if (remaining !== undefined && /^\d+$/.test(remaining)) o.rateRemaining = Number(remaining);
  if (reset !== undefined) {
    // GitHub sends epoch seconds, Linear epoch milliseconds, Jira an ISO timestamp.
    const n = Number(reset);
    o.rateReset = /^\d+$/.test(reset) ? new Date(n > 1e11 ? n : n * 1000).toISOString() : reset;
  }
}

/** Retry-After: delay in seconds, or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now: Date): number | null {
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

function errorDetail(text: string): string {
  const t = text.trim();
  if (!t) return "";
  try {
    const j = JSON.parse(t) as { errorMessages?: string[]; errors?: Record<string, string> | unknown[]; message?: string; error_description?: string; error?: string };
    // Jira: {errors: {field: message}}; Redmine: {errors: [text]}; GitHub: {errors: [{field, code, message}]};
    // GraphQL: {errors: [{message}]}.
    const errs = Array.isArray(j.errors)
      ? j.errors.map((e) => {
          if (e && typeof e === "object") {
            const o = e as { message?: unknown; field?: unknown; code?: unknown };
            return typeof o.message === "string" ? o.message : [o.field, o.code].filter((x) => typeof x === "string").join(" ");
          }
          return String(e);
        })
      : Object.entries(j.errors ?? {}).map(([k, v]) => `${k}: ${v}`);
    const parts = [...(j.errorMessages ?? []), ...errs.filter(Boolean)];
    if (j.message) parts.push(j.message);
    if (j.error_description) parts.push(j.error_description);
    else if (typeof j.error === "string") parts.push(j.error);
    if (parts.length) return parts.join("; ").slice(0, 500);
  } catch {
    // not JSON
  }
  if (/^\s*</.test(t)) return "(an HTML page)";
  return t.replace(/\s+/g, " ").slice(0, 200);
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code ?? "";
  if (e.name === "TimeoutError" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") return "timed out waiting for the server";
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") return "connection reset by the server";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (code === "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH" || code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH") return "response shorter than its Content-Length";
  return `${code ? code + ": " : ""}${e.message ?? String(err)}`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** A response body read into `buffer` (a larger one if the body does not fit). */
async function readInto(body: AsyncIterable<Uint8Array>, buffer: ArrayBuffer): Promise<Uint8Array> {
  let into = new Uint8Array(buffer);
  let at = 0;
  for await (const chunk of body) {
    if (at + chunk.length > into.length) {
      const bigger = new Uint8Array(Math.max(into.length * 2, at + chunk.length));
      bigger.set(into.subarray(0, at));
      into = bigger;
    }
    into.set(chunk, at);
    at += chunk.length;
  }
  return into.subarray(0, at);
}
