import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MockAgent } from "undici";
import { HttpClient } from "../../src/http/client.js";
import { UsageRecorder } from "../../src/http/usage.js";
import { AuthError, NetworkError, RemoteError } from "../../src/errors.js";

const BASE = "https://acme.atlassian.net";
let agent: MockAgent;
let usage: UsageRecorder;
let sleeps: number[];
let logs: string[];

function client(extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) {
  return new HttpClient({
    baseUrl: BASE,
    headers: () => ({ authorization: "Basic c2VjcmV0LXRva2Vu" }),
    usage,
    loginHint: "pmsync login jira",
    dispatcher: agent,
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0.5,
    secrets: ["secret-token-123"],
    log: (l) => logs.push(l),
    ...extra,
  });
}
const pool = () => agent.get(BASE);
const json = { "content-type": "application/json" };

beforeEach(() => {
  agent = new MockAgent();
  agent.disableNetConnect();
  usage = new UsageRecorder();
  sleeps = [];
  logs = [];
});
afterEach(async () => {
  agent.assertNoPendingInterceptors();
  await agent.close();
});

describe("HttpClient", () => {
  it("returns parsed JSON and counts the request", async () => {
    pool().intercept({ path: "/rest/api/3/myself", method: "GET" }).reply(200, { accountId: "a" }, { headers: json });
    const res = await client().json<{ accountId: string }>({ method: "GET", path: "/rest/api/3/myself", endpoint: "myself" });
    expect(res.data.accountId).toBe("a");
    const [d] = usage.drain();
    expect(d).toMatchObject({ endpoint: "myself", status: 200, requests: 1, errors: 0, retries: 0 });
  });

  it("reads a body of known length into the caller's buffer, a larger one when it does not fit, and one of its own without a length", async () => {
    const page = JSON.stringify({ issues: Array.from({ length: 50 }, (_, i) => ({ id: String(i), summary: "Müller → done" })) });
    const len = { ...json, "content-length": String(Buffer.byteLength(page)) };
    pool().intercept({ path: "/big", method: "POST" }).reply(200, page, { headers: len });
    pool().intercept({ path: "/big", method: "POST" }).reply(200, page, { headers: len });
    pool().intercept({ path: "/big", method: "POST" }).reply(200, page, { headers: json });
    const given: ArrayBuffer[] = [];
    const into = (size: number) => {
      const b = new ArrayBuffer(given.length === 0 ? size + 100 : 16); // the second one is too small
      given.push(b);
      return b;
    };
    const spec = { method: "POST" as const, path: "/big", body: {}, endpoint: "search", bodyBuffer: into };
    const fits = (await client().jsonBytes(spec)).data;
    expect(fits.buffer).toBe(given[0]);
    expect(fits.toString()).toBe(page);
    const grown = (await client().jsonBytes(spec)).data;
    expect(grown.buffer).not.toBe(given[1]);
    expect(grown.toString()).toBe(page);
    const unknown = (await client().jsonBytes(spec)).data;
    expect(given).toHaveLength(2);
    expect(unknown.toString()).toBe(page);
  });

  it("retries 429 honouring Retry-After, and 503 with backoff", async () => {
    pool().intercept({ path: "/x", method: "GET" }).reply(429, "", { headers: { "retry-after": "7" } });
    pool().intercept({ path: "/x", method: "GET" }).reply(503, "busy");
    pool().intercept({ path: "/x", method: "GET" }).reply(200, { ok: true }, { headers: json });
    const res = await client().json({ method: "GET", path: "/x", endpoint: "x" });
    expect(res.data).toEqual({ ok: true });
    expect(sleeps[0]).toBe(7000);
    // second wait: backoff for attempt 1 = ceiling 1000 ms with equal jitter at random 0.5
    expect(sleeps[1]).toBe(750);
    const rows = usage.drain();
    expect(rows.reduce((a, r) => a + r.requests, 0)).toBe(3);
    expect(rows.find((r) => r.status === 429)).toMatchObject({ rate_limit_waits: 1, wait_ms: 7000 });
    expect(usage.retries).toBe(2);
  });

  it("gives up when the retry budget would be exceeded, with a clear error", async () => {
    pool().intercept({ path: "/x", method: "GET" }).reply(429, "", { headers: { "retry-after": "600" } });
    const err = await client().json({ method: "GET", path: "/x", endpoint: "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.message).toMatch(/gave up after 1 attempt.*retry budget/);
    expect(sleeps).toEqual([]);
  });

  it("gives up after the maximum number of retries on network errors", async () => {
    for (let i = 0; i < 3; i++) pool().intercept({ path: "/x", method: "GET" }).replyWithError(Object.assign(new Error("boom"), { code: "ECONNRESET" }));
    const err = await client({ maxRetries: 2 }).json({ method: "GET", path: "/x", endpoint: "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(err.message).toMatch(/gave up after 3 attempt/);
    expect(usage.drain().find((r) => r.status === 0)).toMatchObject({ requests: 3, errors: 3 });
  });

  it("retries a malformed body once, then fails", async () => {
    pool().intercept({ path: "/x", method: "GET" }).reply(200, '{"issues":[', { headers: json });
    pool().intercept({ path: "/x", method: "GET" }).reply(200, '{"issues":[', { headers: json });
    const err = await client().json({ method: "GET", path: "/x", endpoint: "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.message).toMatch(/malformed JSON/);
  });

  it("recovers when the retry of a malformed body is good", async () => {
    pool().intercept({ path: "/x", method: "GET" }).reply(200, "garbage{", { headers: json });
    pool().intercept({ path: "/x", method: "GET" }).reply(200, { ok: 1 }, { headers: json });
    expect((await client().json({ method: "GET", path: "/x", endpoint: "x" })).data).toEqual({ ok: 1 });
  });

  it("names an HTML page as such", async () => {
    for (let i = 0; i < 2; i++) pool().intercept({ path: "/x", method: "GET" }).reply(200, "<html><body>Log in</body></html>", { headers: { "content-type": "text/html" } });
    const err = await client().json({ method: "GET", path: "/x", endpoint: "x" }).catch((e) => e);
    expect(err.message).toMatch(/HTML page instead of JSON/);
  });

  it("turns 401 into an AuthError naming pmsync login, without retrying", async () => {
    pool().intercept({ path: "/x", method: "GET" }).reply(401, "Client must be authenticated to access this resource.");
    const err = await client().json({ method: "GET", path: "/x", endpoint: "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err.hint).toContain("pmsync login jira");
  });

  it("redacts secrets from URLs and log lines", async () => {
    pool().intercept({ path: "/x?access_token=secret-token-123&q=1", method: "GET" }).reply(500, "secret-token-123 leaked");
    pool().intercept({ path: "/x?access_token=secret-token-123&q=1", method: "GET" }).reply(200, {}, { headers: json });
    await client().json({ method: "GET", path: "/x", query: { access_token: "secret-token-123", q: 1 }, endpoint: "x" });
    expect(logs.join("\n")).not.toContain("secret-token-123");
    expect(logs.join("\n")).toContain("access_token=***");
  });
});
