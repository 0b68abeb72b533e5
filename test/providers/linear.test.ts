// Linear through the provider contract (against its graphql-js fake), then what only Linear has:
// archived and trashed issues, priority numbers and workflow state types, the bare API-key
// header, HTTP 400 RATELIMITED and AUTHENTICATION_ERROR, query complexity, name resolution for
// writes.

import { parse } from "graphql";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConnectionConfig } from "../../src/config.js";
import { AuthError, RemoteError, UsageError } from "../../src/errors.js";
import { HttpClient } from "../../src/http/client.js";
import { UsageRecorder } from "../../src/http/usage.js";
import { linearAuthHeaders, linearDefaultApiUrl, normaliseTeamKey } from "../../src/providers/linear/auth.js";
import { classifyLinearResponse, ISSUES_QUERY, LABELS_PER_ISSUE, LinearClient, PAGE_SIZE } from "../../src/providers/linear/client.js";
import { estimateComplexity, MAX_COMPLEXITY, startFake, startLinearFake, type LinearFake } from "../../src/providers/linear/fake.js";
import type { Provider } from "../../src/providers/provider.js";
import { loginFake, providerContract, providerFor } from "../contract/contract.js";
import { query, runCli, scalar, syncJson, tempHome } from "../helpers/cli.js";

providerContract(startFake);

const SEEDED = 40;

async function post(fake: LinearFake, body: unknown, authorization = fake.token) {
  const res = await fetch(`${fake.url}/graphql`, { method: "POST", headers: { authorization, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] } };
}

function clientFor(fake: LinearFake, token = fake.token): LinearClient {
  const http = new HttpClient({ baseUrl: fake.url, headers: () => ({ authorization: token }), usage: new UsageRecorder(), loginHint: "pmsync login linear", maxRetryWaitMs: 5_000 });
  return new LinearClient(http, async () => "pmsync login linear --site x");
}

/** A fake with `n` issues and a logged-in pmsync home. */
async function loggedIn(n: number): Promise<{ fake: LinearFake; keys: string[]; home: string }> {
  const fake = await startLinearFake();
  const keys = fake.seed(n);
  const home = tempHome();
  await loginFake(home, fake);
  return { fake, keys, home };
}

describe("Linear through the CLI", () => {
  let fake: LinearFake;
  let home: string;
  let keys: string[];

  beforeEach(async () => {
    ({ fake, keys, home } = await loggedIn(SEEDED));
  });
  afterEach(() => fake.close());

  it("asks for archived issues, keeps archived, trashed and other teams' issues out, and marks one archived later deleted on --full", async () => {
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0]).toMatchObject({ status: "ok", pulled: SEEDED, created: SEEDED });
    const cached = query<{ key: string }>(home, "SELECT key FROM issues").map((r) => r.key);
    expect(cached).toHaveLength(SEEDED);
    for (const k of [...fake.extras.archived, ...fake.extras.trashed, ...fake.extras.outOfScope]) expect(cached).not.toContain(k);
    const pulls = fake.requests.filter((r) => r.query?.includes("query PmsyncIssues"));
    expect(pulls.length).toBeGreaterThan(0);
    for (const r of pulls) expect(r.query).toMatch(/includeArchived: true/);
    expect(pulls[0]!.variables).toEqual({ last: PAGE_SIZE, filter: { team: { key: { in: ["ENG", "OPS"] } } } });

    fake.archive(keys[0]!);
    // Incremental pulls never mark deletions (the engine's rule); the issue stays as it was.
    const inc = await syncJson(home, ["--incremental"]);
    expect(inc.report.runs[0]).toMatchObject({ status: "ok", created: 0, updated: 0, deleted: 0 });
    const since = fake.requests[fake.requests.length - 1]!.variables.filter as { updatedAt: { gte: string } };
    expect(since.updatedAt.gte).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(scalar(home, "SELECT deleted_at FROM issues WHERE key = ?", keys[0])).toBeNull();
    const full = await syncJson(home, ["--full"]);
    expect(full.report.runs[0]).toMatchObject({ status: "ok", deleted: 1, unchanged: SEEDED - 1 });
    expect(scalar(home, "SELECT deleted_at IS NOT NULL FROM issues WHERE key = ?", keys[0])).toBe(1);
  });

  it("shows priority numbers as names and workflow state types as categories", async () => {
    const cases: [number, string, string | null, string, boolean][] = [
      [0, "Triage", null, "todo", false],
      [1, "Backlog", "Urgent", "todo", false],
      [2, "Todo", "High", "todo", false],
      [3, "In Progress", "Medium", "in_progress", false],
      [4, "In Review", "Low", "in_progress", false],
      [1, "Done", "Urgent", "done", true],
      [2, "Canceled", "High", "cancelled", true],
      [3, "Duplicate", "Medium", "cancelled", true],
    ];
    cases.forEach(([p, state], i) => fake.setPriorityAndState(keys[i]!, p, state));
    expect((await syncJson(home, ["--full"])).result.code).toBe(0);
    cases.forEach(([, state, priority, category, resolved], i) => {
      const [row] = query<{ status: string; priority: string | null; status_category: string; resolved_at: string | null; type: string | null; project: string }>(
        home,
        "SELECT status, priority, status_category, resolved_at, type, project FROM issues WHERE key = ?",
        keys[i],
      );
      expect(row).toMatchObject({ status: state, priority, status_category: category, type: null, project: keys[i]!.split("-")[0] });
      expect(row!.resolved_at !== null, state).toBe(resolved);
    });
    const projects = query<{ key: string; name: string }>(home, "SELECT key, name FROM projects ORDER BY key");
    expect(projects.map((p) => [p.key, p.name])).toEqual([["ENG", "Engineering"], ["OPS", "Operations"]]);
  });

  it("sends the API key as the bare Authorization value (Linear refuses it behind Bearer)", async () => {
    expect((await syncJson(home, ["--full"])).result.code).toBe(0);
    expect(fake.requests.length).toBeGreaterThan(1);
    for (const r of fake.requests) expect(r.authorization).toBe(fake.token);

    const asBearer = await post(fake, { query: "{ viewer { id } }" }, `Bearer ${fake.token}`);
    expect(asBearer.status).toBe(400);
    expect(asBearer.body.errors![0]!.extensions!.code).toBe("AUTHENTICATION_ERROR");
    expect(asBearer.body.errors![0]!.message).toMatch(/Bearer/);
    const oauth = await post(fake, { query: "{ viewer { id } }" }, `Bearer ${fake.oauthToken}`);
    expect(oauth.status).toBe(200);

    const conn = { auth: "api_token" } as ConnectionConfig;
    expect(linearAuthHeaders({ type: "api_token", token: "lin_api_x" }, conn)).toEqual({ authorization: "lin_api_x" });
    expect(linearAuthHeaders({ type: "oauth", token: "t" } as never, conn)).toEqual({ authorization: "Bearer t" });
    expect(linearAuthHeaders({ type: "api_token", token: "t" }, { auth: "oauth" } as ConnectionConfig)).toEqual({ authorization: "Bearer t" });
  });

  it("waits out Linear's HTTP 400 RATELIMITED until the reset header, counted as a rate-limit wait", async () => {
    fake.fail("rate_limit", 1);
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0]).toMatchObject({ pulled: SEEDED, retries: 1 });
    const rows = query<{ status: number; rate_limit_waits: number; wait_ms: number }>(home, "SELECT status, rate_limit_waits, wait_ms FROM api_usage WHERE rate_limit_waits > 0");
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 400, rate_limit_waits: 1 });
    // The fake's reset is one second after its answer: the wait is that, not a backoff or 60 s.
    expect(rows[0]!.wait_ms).toBeGreaterThan(500);
    expect(rows[0]!.wait_ms).toBeLessThanOrEqual(1000);
    expect(scalar<number>(home, "SELECT sum(requests) FROM api_usage")).toBe(fake.requestCount());
  });

  it("a key revoked after login fails sync with exit 4 and the login hint", async () => {
    const r = await runCli(["sync"], { home, env: { PMSYNC_TOKEN_LINEAR: "lin_api_revoked" } });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/pmsync login linear/);
  });

  it("pages walk from the oldest change to the newest, so a killed sync never skips older pages", async () => {
    fake.seed(200);
    const provider = providerFor(home, fake);
    let previousMax = Number.NEGATIVE_INFINITY;
    let pages = 0;
    for await (const page of provider.pull({ mode: "full", sinceMs: null, projects: ["ENG", "OPS"], catalog: [] })) {
      const times = page.records.map((r) => r.updatedMs);
      if (times.length) {
        expect(Math.min(...times)).toBeGreaterThanOrEqual(previousMax);
        previousMax = Math.max(...times);
      }
      pages++;
    }
    expect(previousMax).toBe(fake.maxUpdatedMs());
    expect(pages).toBe(3);
  });
});

describe("a wrong API key", () => {
  for (const status of [400, 401] as const) {
    it(`answered with HTTP ${status} is exit 4 with the login hint, at login and on any query`, async () => {
      const fake = await startLinearFake({ authFailureStatus: status });
      try {
        const home = tempHome();
        const r = await runCli(["login", "linear", ...fake.loginArgs, "--token-stdin", "--insecure-storage"], { home, input: "lin_api_wrong" });
        expect(r.code, r.stderr).toBe(4);
        expect(r.stderr).toMatch(/pmsync login linear/);
        await expect(clientFor(fake, "lin_api_wrong").issues({ last: 10 })).rejects.toBeInstanceOf(AuthError);
      } finally {
        await fake.close();
      }
    });
  }
});

describe("the fake refuses what Linear refuses", () => {
  let fake: LinearFake;
  beforeEach(async () => {
    fake = await startLinearFake();
    fake.seed(20);
  });
  afterEach(() => fake.close());

  it("pmsync's page of issues is well under the 10,000-point complexity limit; a heavier query is refused", async () => {
    const cost = estimateComplexity(fake.schema, parse(ISSUES_QUERY), { last: PAGE_SIZE });
    expect(cost).toBeGreaterThan(3_000);
    expect(cost).toBeLessThan(MAX_COMPLEXITY / 2);
    const ok = await post(fake, { query: ISSUES_QUERY, variables: { last: PAGE_SIZE } });
    expect(ok.status).toBe(200);
    expect(fake.requests[fake.requests.length - 1]!.complexity).toBe(cost);

    const heavy = ISSUES_QUERY.replace(`labels(first: ${LABELS_PER_ISSUE})`, "labels(first: 100)");
    const refused = await post(fake, { query: heavy, variables: { last: 250 } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors![0]!.message).toMatch(/complex/i);
    const tooMany = await post(fake, { query: ISSUES_QUERY.replace("labels(first: 20)", "labels(first: 1)"), variables: { last: 251 } });
    expect(tooMany.body.errors![0]!.message).toMatch(/250/);
  });

  it("a misspelt field is HTTP 400 GRAPHQL_VALIDATION_FAILED; pmsync reports an invalid query, not a bad key", async () => {
    const bad = await post(fake, { query: "{ issues { nodes { idd } } }" });
    expect(bad.status).toBe(400);
    expect(bad.body.errors![0]!.extensions!.code).toBe("GRAPHQL_VALIDATION_FAILED");
    const err = await clientFor(fake).query("issues", "{ issues { nodes { idd } } }").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).not.toBeInstanceOf(AuthError);
    expect((err as Error).message).toMatch(/invalid/);
  });

  it("HTTP 200 with GraphQL errors is a RemoteError with Linear's message", async () => {
    const err = await clientFor(fake)
      .query("team", "query($id: String!) { team(id: $id) { id } }", { id: "no-such-team" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as Error).message).toMatch(/Could not find referenced Team/);
  });
});

describe("Linear writes", () => {
  let fake: LinearFake;
  let provider: Provider;
  let keys: string[];

  beforeEach(async () => {
    let home: string;
    ({ fake, keys, home } = await loggedIn(30));
    provider = providerFor(home, fake);
  });
  afterEach(() => fake.close());

  it("resolves users by name, handle or email, priorities by name, and writes the estimate", async () => {
    const current = (await provider.fetchIssue(keys[4]!))!;
    await provider.writeIssue(current, [
      { field: "assignee", value: "grace@example.com" },
      { field: "priority", value: "low" },
      { field: "story_points", value: 5 },
    ]);
    expect(fake.view(keys[4]!)).toMatchObject({ assignee: "Grace Hopper", priority: "Low" });
    const after = (await provider.fetchIssue(keys[4]!))!;
    expect(after.issue).toMatchObject({ assignee: "Grace Hopper", priority: "Low", story_points: 5 });
    await provider.writeIssue(after, [{ field: "assignee", value: "alan" }, { field: "priority", value: null }, { field: "story_points", value: null }]);
    expect((await provider.fetchIssue(keys[4]!))!.issue).toMatchObject({ assignee: "Alan Turing", priority: null, story_points: null });
    await expect(provider.writeIssue(after, [{ field: "story_points", value: 2.5 }])).rejects.toBeInstanceOf(UsageError);
    await expect(provider.writeIssue(after, [{ field: "priority", value: "Critical" }])).rejects.toBeInstanceOf(UsageError);
  });

  it("names the choices for an unknown status, and writes nothing when any name is wrong", async () => {
    const current = (await provider.fetchIssue(keys[6]!))!;
    const before = fake.view(keys[6]!);
    const err = (await provider
      .writeIssue(current, [{ field: "title", value: "not written" }, { field: "labels", value: ["brand-new"] }, { field: "status", value: "Shipped" }])
      .catch((e: unknown) => e)) as UsageError;
    expect(err).toBeInstanceOf(UsageError);
    expect(err.hint).toMatch(/In Progress/);
    expect(fake.view(keys[6]!)).toEqual(before);
    const labels = await post(fake, { query: "{ issueLabels(first: 250) { nodes { name } } }" });
    expect(JSON.stringify(labels.body)).not.toContain("brand-new");
  });

  it("reuses workspace and team labels by name and creates a missing one in the issue's team", async () => {
    const current = (await provider.fetchIssue(keys[0]!))!;
    await provider.writeIssue(current, [{ field: "labels", value: ["bug", "backend", "needs-design"] }]);
    expect([...fake.view(keys[0]!)!.labels].sort()).toEqual(["Bug", "backend", "needs-design"]);
    const labels = await post(fake, { query: "{ issueLabels(first: 250) { nodes { name team { key } } } }" });
    const all = (labels.body.data as { issueLabels: { nodes: { name: string; team: { key: string } | null }[] } }).issueLabels.nodes;
    expect(all.filter((l) => l.name.toLowerCase() === "bug")).toHaveLength(1);
    expect(all.find((l) => l.name === "needs-design")?.team?.key).toBe("ENG");
  });

  it("fetchIssue is null for archived, trashed and unknown issues", async () => {
    expect(await provider.fetchIssue(fake.extras.archived[0]!)).toBeNull();
    expect(await provider.fetchIssue(fake.extras.trashed[0]!)).toBeNull();
    expect(await provider.fetchIssue("ENG-9999")).toBeNull();
  });
});

describe("classifyLinearResponse", () => {
  const now = new Date(Date.UTC(2026, 10, 1, 9, 0, 0));
  const limited = JSON.stringify({ errors: [{ message: "Rate limit exceeded", extensions: { code: "RATELIMITED" } }] });
  const verdict = (headers: Record<string, string>, text = limited, status = 400) => classifyLinearResponse({ status, headers, text, now });

  it("waits until the reset, given in epoch milliseconds or seconds", () => {
    expect(verdict({ "x-ratelimit-requests-reset": String(now.getTime() + 2_500) })).toMatchObject({ retry: true, rateLimited: true, waitMs: 2_500 });
    expect(verdict({ "x-ratelimit-requests-reset": String(now.getTime() / 1000 + 30) })).toMatchObject({ waitMs: 30_000 });
  });
  it("never waits a negative time, and 60 s without a reset header", () => {
    expect(verdict({ "x-ratelimit-requests-reset": String(now.getTime() - 5_000) })!.waitMs).toBe(0);
    expect(verdict({})!.waitMs).toBe(60_000);
  });
  it("waits for the complexity budget when that is the one spent", () => {
    const v = verdict({
      "x-ratelimit-requests-remaining": "1200",
      "x-ratelimit-requests-reset": String(now.getTime() + 1_000),
      "x-ratelimit-complexity-remaining": "0",
      "x-ratelimit-complexity-reset": String(now.getTime() + 40_000),
    });
    expect(v!.waitMs).toBe(40_000);
  });
  it("leaves other 400s (invalid queries, bad keys) to the usual rules", () => {
    const auth = JSON.stringify({ errors: [{ message: "Authentication required", extensions: { code: "AUTHENTICATION_ERROR" } }] });
    expect(verdict({}, auth)).toBeNull();
    expect(verdict({}, "not json")).toBeNull();
  });
});

describe("Linear login settings", () => {
  it("normalises team keys and refuses issue identifiers", () => {
    expect(normaliseTeamKey(" eng ")).toBe("ENG");
    expect(() => normaliseTeamKey("ENG-12")).toThrow(UsageError);
    expect(() => normaliseTeamKey("my team")).toThrow(UsageError);
  });
  it("calls api.linear.app for linear.app, and a loopback site itself", () => {
    expect(linearDefaultApiUrl("https://linear.app")).toBe("https://api.linear.app");
    expect(linearDefaultApiUrl("https://linear.app/acme")).toBe("https://api.linear.app");
    expect(linearDefaultApiUrl("http://127.0.0.1:4000")).toBe("http://127.0.0.1:4000");
    expect(linearDefaultApiUrl("https://tracker.example.com")).toBeUndefined();
  });
});
