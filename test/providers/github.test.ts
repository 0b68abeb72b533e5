// GitHub Issues: the provider contract on the fake, then what is GitHub's own: pull requests in
// the issue list, owner-wide scope, `since`, page drift, transfers, ETags and rate-limit headers,
// the status/priority/label mappings, and the fake's OAuth web flow.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConnectionConfig } from "../../src/config.js";
import { AuthError, RemoteError, UsageError } from "../../src/errors.js";
import { UsageRecorder } from "../../src/http/usage.js";
import { tokenRequest } from "../../src/auth/oauth/tokens.js";
import { createPkce } from "../../src/auth/oauth/pkce.js";
import { HttpClient } from "../../src/http/client.js";
import { githubDefaultApiUrl, normaliseRepo, parseIssueKey } from "../../src/providers/github/auth.js";
import { nextLink } from "../../src/providers/github/client.js";
import { startFake, startGitHubFake, type GitHubFake } from "../../src/providers/github/fake.js";
import { classifyGitHubResponse, sinceParam } from "../../src/providers/github/index.js";
import { normaliseIssue, statusCategory, statusName } from "../../src/providers/github/normalise.js";
import { statusPatch, validationMessage } from "../../src/providers/github/writes.js";
import { connectionHttp } from "../../src/providers/http.js";
import type { Provider, PulledRecord } from "../../src/providers/provider.js";
import { providerModule } from "../../src/providers/registry.js";
import { openStore } from "../../src/store/db.js";
import { SyncStore } from "../../src/store/sync-store.js";
import { CONTRACT_ISSUES, loginFake, providerContract } from "../contract/contract.js";
import { collect, query, runCli, scalar, spawnCli, syncJson, tempHome } from "../helpers/cli.js";

providerContract(startFake);

/** The saved connection's provider, with a usage recorder the test can read. */
function provider(home: string): { provider: Provider; usage: UsageRecorder } {
  const cfg = JSON.parse(readFileSync(join(home, "config.json"), "utf8")) as { connections: Record<string, ConnectionConfig> };
  const conn = cfg.connections.github!;
  const secret = { type: "api_token" as const, token: "ghp_pmsyncFakeToken0123456789abcdefABCDEF" };
  const usage = new UsageRecorder();
  const http = connectionHttp({ name: "github", conn, secret, usage, settings: { maxRetryWaitMs: 10_000 } });
  return { provider: providerModule("github").create({ connectionName: "github", config: conn, secret, http }), usage };
}

async function pullAll(p: Provider, mode: "full" | "incremental" = "full", sinceMs: number | null = null): Promise<PulledRecord[]> {
  const out: PulledRecord[] = [];
  for await (const page of p.pull({ mode, sinceMs, projects: ["acme/api", "acme/web"], catalog: [] })) out.push(...page.records);
  return out;
}

/** A fresh seeded fake and PMSYNC_HOME for each test; `login` also saves the fake's connection. */
function seededFake(login: boolean): { fake: GitHubFake; home: string; keys: string[] } {
  const s = {} as { fake: GitHubFake; home: string; keys: string[] };
  beforeEach(async () => {
    s.fake = await startGitHubFake();
    s.keys = s.fake.seed(CONTRACT_ISSUES);
    s.home = tempHome();
    if (login) await loginFake(s.home, s.fake);
  });
  afterEach(() => s.fake.close());
  return s;
}

describe("GitHub through the CLI", () => {
  const s = seededFake(false);

  it("drops the pull requests GitHub mixes into the issue list", async () => {
    const { fake, home, keys } = s;
    await loginFake(home, fake);
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0].pulled).toBe(CONTRACT_ISSUES);
    const served = fake.requests.filter((r) => /\/issues$/.test(r.path)).length;
    expect(served).toBeGreaterThanOrEqual(4); // two repositories, two pages each
    expect(scalar<number>(home, "SELECT count(*) FROM issues WHERE url LIKE '%/pull/%' OR raw LIKE '%\"pull_request\"%'")).toBe(0);
    // The numbers have gaps where the pull requests are.
    const numbers = query<{ key: string }>(home, "SELECT key FROM issues WHERE project = 'acme/api'").map((r) => Number(r.key.split("#")[1]));
    expect(Math.max(...numbers)).toBeGreaterThan(numbers.length);
    // Every list request asked for all states, ascending by update, 100 a page; later pages by the Link URL.
    for (const r of fake.requests.filter((x) => /\/issues$/.test(x.path))) {
      expect(r.query).toMatchObject({ state: "all", sort: "updated", direction: "asc", per_page: "100" });
      if (r.path.startsWith("/repositories/")) expect(r.query.page).toBe("2");
    }
    const row = query<Record<string, unknown>>(home, "SELECT * FROM issues WHERE key = ?", keys[0])[0]!;
    expect(row).toMatchObject({ project: "acme/api", url: `${fake.url}/acme/api/issues/1`, status: "Open", status_category: "todo" });
  });

  it("--owner takes every repository of an organisation (issues turned off are skipped), or of a user", async () => {
    const { fake, home, keys } = s;
    let r = await runCli(["login", "github", "--site", fake.url, "--owner", "acme", "--token-stdin", "--insecure-storage", "--name", "org"], { home, input: fake.token });
    expect(r.code, r.stderr).toBe(0);
    const { result, report } = await syncJson(home, ["org", "--full"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0].pulled).toBe(CONTRACT_ISSUES);
    expect(fake.requests.some((x) => x.path === "/orgs/acme/repos")).toBe(true);
    expect(fake.requests.some((x) => x.path.includes("legacy") || x.path.startsWith("/repositories/810003"))).toBe(false);
    const projects = query<{ key: string }>(home, "SELECT key FROM projects WHERE connection = 'org' ORDER BY key");
    expect(projects.map((p) => p.key)).toEqual(["acme/api", "acme/web"]);

    // A user account: /orgs/octocat is 404, /users/octocat/repos answers (one repository, no issues).
    r = await runCli(["login", "github", "--site", fake.url, "--owner", "octocat", "--token-stdin", "--insecure-storage", "--name", "me"], { home, input: fake.token });
    expect(r.code, r.stderr).toBe(0);
    const mine = await syncJson(home, ["me", "--full"]);
    expect(mine.result.code, mine.result.stderr).toBe(0);
    expect(mine.report.runs[0].pulled).toBe(0);
    expect(fake.requests.some((x) => x.path === "/users/octocat/repos")).toBe(true);

    // No repository with issues at all: a usage error that says how to choose.
    r = await runCli(["login", "github", "--site", fake.url, "--owner", "hubot", "--token-stdin", "--insecure-storage", "--name", "none"], { home, input: fake.token });
    expect(r.code, r.stderr).toBe(0);
    const none = await syncJson(home, ["none", "--full"]);
    expect(none.result.code).toBe(2);
    expect(none.report.runs[0].error).toMatch(/hubot has no repositories/);
  });

  it("without --repo or --owner, syncs every repository the account can reach", async () => {
    const { fake, home, keys } = s;
    const r = await runCli(["login", "github", "--site", fake.url, "--token-stdin", "--insecure-storage"], { home, input: fake.token });
    expect(r.code, r.stderr).toBe(0);
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0].pulled).toBe(CONTRACT_ISSUES);
    expect(fake.requests.some((x) => x.path === "/user/repos")).toBe(true);
  });

  it("an incremental pull sends `since` (the cursor minus the overlap, to the second) and picks up edits", async () => {
    const { fake, home, keys } = s;
    await loginFake(home, fake);
    expect((await syncJson(home, ["--full"])).result.code).toBe(0);
    const cursor = Date.parse(scalar<string>(home, "SELECT cursor FROM sync_state WHERE connection = 'github'"));
    fake.editTitle(keys[4]!, "changed on GitHub");
    const mark = fake.requests.length;
    const { result, report } = await syncJson(home, ["--incremental"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0]).toMatchObject({ updated: 1, created: 0 });
    const lists = fake.requests.slice(mark).filter((r) => /\/issues$/.test(r.path));
    expect(lists.length).toBe(2);
    for (const l of lists) expect(l.query.since).toBe(sinceParam(cursor - 5 * 60_000));
    expect(lists[0]!.query.since).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(scalar<string>(home, "SELECT title FROM issues WHERE key = ?", keys[4])).toBe("changed on GitHub");
  });

  it("a transferred issue (301) is gone: fetchIssue is null, and a full sync marks it deleted and finds it in its new repository", async () => {
    const { fake, home, keys } = s;
    await loginFake(home, fake);
    expect((await syncJson(home, ["--full"])).result.code).toBe(0);
    const moved = fake.transfer(keys[0]!, "acme/web");
    const { provider: p } = provider(home);
    expect(await p.fetchIssue(keys[0]!)).toBeNull();
    expect(fake.requests.at(-1)!.status).toBe(301);
    expect((await p.fetchIssue(moved))?.issue.key).toBe(moved);
    const { report } = await syncJson(home, ["--full"]);
    expect(report.runs[0]).toMatchObject({ status: "ok", deleted: 1, created: 1 });
    expect(scalar<string | null>(home, "SELECT deleted_at FROM issues WHERE key = ?", keys[0])).not.toBeNull();
  });

  it("re-reading an unchanged issue sends If-None-Match and gets a free 304, counted under its status", async () => {
    const { fake, home, keys } = s;
    await loginFake(home, fake);
    const { provider: p, usage } = provider(home);
    const first = await p.fetchIssue(keys[5]!);
    const again = await p.fetchIssue(keys[5]!);
    expect(again).toEqual(first);
    const last = fake.requests.at(-1)!;
    expect(last.status).toBe(304);
    expect(last.headers["if-none-match"]).toMatch(/^W\/"/);
    const rows = usage.drain();
    expect(rows.find((r) => r.endpoint === "issue" && r.status === 304)).toMatchObject({ requests: 1, errors: 0 });
    expect(rows.find((r) => r.endpoint === "issue" && r.status === 200)).toMatchObject({ requests: 1 });
    // Stored as a sync stores usage, `pmsync usage` lists the 304 as free.
    const store = await openStore(join(home, "pmsync.db"));
    new SyncStore(store).flushUsage("github", rows);
    await store.close();
    const day = JSON.parse((await runCli(["usage", "--json"], { home })).stdout).connections[0].days.at(-1);
    expect(day).toMatchObject({ not_modified: 1 });
    expect(day.requests).toBeGreaterThanOrEqual(3); // login's who-am-I, the 200 and the 304
    // An edit changes the ETag: the next read is a 200 with the new title.
    fake.editTitle(keys[5]!, "new title");
    expect((await p.fetchIssue(keys[5]!))?.issue.title).toBe("new title");
    expect(fake.requests.at(-1)!.status).toBe(200);
  });

  it("records GitHub's x-ratelimit budget in api_usage", async () => {
    const { fake, home, keys } = s;
    await loginFake(home, fake);
    expect((await syncJson(home, ["--full"])).result.code).toBe(0);
    const row = query<{ rate_limit: number; rate_remaining: number; rate_reset: string }>(home, "SELECT rate_limit, rate_remaining, rate_reset FROM api_usage WHERE endpoint = 'issues'")[0]!;
    expect(row.rate_limit).toBe(5000);
    expect(row.rate_remaining).toBeLessThan(5000);
    expect(row.rate_remaining).toBeGreaterThan(4900);
    expect(row.rate_reset).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("a repository that does not exist fails the run with a clear message", async () => {
    const { fake, home, keys } = s;
    const r = await runCli(["login", "github", "--site", fake.url, "--repo", "acme/nope", "--token-stdin", "--insecure-storage"], { home, input: fake.token });
    expect(r.code, r.stderr).toBe(0);
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code).toBe(1);
    expect(report.runs[0].error).toMatch(/acme\/nope does not exist on GitHub, or this account cannot see it/);
  });

  it("login refuses a --repo that is not owner/name", async () => {
    const { fake, home, keys } = s;
    const r = await runCli(["login", "github", "--site", fake.url, "--repo", "just-a-name", "--token-stdin", "--insecure-storage"], { home, input: fake.token });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/owner\/name/);
  });
});

describe("GitHub pull through the provider", () => {
  const s = seededFake(true);

  it("merges the repositories by update time, so the cursor never passes an issue not yet written", async () => {
    const { fake, home, keys } = s;
    const { provider: p } = provider(home);
    const records = await pullAll(p);
    expect(records.length).toBe(CONTRACT_ISSUES);
    const times = records.map((r) => r.updatedMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(records.map((r) => r.issue.project))).toEqual(new Set(["acme/api", "acme/web"]));
  });

  it("an issue edited while its repository is being paged does not make the next page skip one", async () => {
    const { fake, home, keys } = s;
    const { provider: p } = provider(home);
    const firstOfApi = (await pullAll(p)).find((r) => r.issue.project === "acme/api")!;
    let edited = false;
    fake.afterResponse = (r) => {
      // Right after the first page of acme/api (which holds its oldest issue), someone edits that issue.
      if (!edited && r.path === "/repos/acme/api/issues" && !r.query.since) {
        edited = true;
        fake.editTitle(firstOfApi.issue.key, "edited during the pull");
      }
    };
    const records = await pullAll(p);
    expect(edited).toBe(true);
    expect(new Set(records.map((r) => r.issue.key))).toEqual(new Set(keys));
    // The moved issue came back with its new title, and the repository was listed again from its old time.
    expect(records.filter((r) => r.issue.key === firstOfApi.issue.key).at(-1)!.issue.title).toBe("edited during the pull");
    const relist = fake.requests.find((r) => r.path === "/repos/acme/api/issues" && r.query.since);
    expect(relist?.query.since).toBe(sinceParam(firstOfApi.updatedMs - 1000));
  });

  it("writes status with GitHub's close reasons, priority as a `priority:` label, and keeps the two apart from labels", async () => {
    const { fake, home, keys } = s;
    const { provider: p } = provider(home);
    const key = keys[20]!;
    let cur = (await p.fetchIssue(key))!;
    await p.writeIssue(cur, [{ field: "status", value: "Closed (not planned)" }, { field: "priority", value: "low" }]);
    cur = (await p.fetchIssue(key))!;
    expect(cur.issue).toMatchObject({ status: "Closed (not planned)", status_category: "cancelled", priority: "Low" });
    expect((cur.raw as { state_reason: string }).state_reason).toBe("not_planned");
    const plain = cur.issue.labels;
    expect(plain.every((l) => !l.startsWith("priority"))).toBe(true);

    await p.writeIssue(cur, [{ field: "labels", value: ["triage"] }]);
    cur = (await p.fetchIssue(key))!;
    expect(cur.issue).toMatchObject({ labels: ["triage"], priority: "Low" });

    await p.writeIssue(cur, [{ field: "priority", value: null }, { field: "status", value: "open" }]);
    cur = (await p.fetchIssue(key))!;
    expect(cur.issue).toMatchObject({ labels: ["triage"], priority: null, status: "Open", status_category: "todo" });
    expect((cur.raw as { state_reason: string }).state_reason).toBe("reopened");

    await p.writeIssue(cur, [{ field: "status", value: "duplicate" }, { field: "assignee", value: "@hubot" }]);
    expect(fake.view(key)).toMatchObject({ status: "Closed (duplicate)", assignee: "hubot" });
  });

  it("refuses what GitHub cannot do, naming the choices, and sends nothing", async () => {
    const { fake, home, keys } = s;
    const { provider: p } = provider(home);
    const cur = (await p.fetchIssue(keys[21]!))!;
    const before = fake.requests.length;
    const refused = async (w: Parameters<Provider["writeIssue"]>[1]) => {
      const err = await p.writeIssue(cur, w).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UsageError);
      return err as UsageError;
    };
    expect((await refused([{ field: "status", value: "In Progress" }])).hint).toContain('"Closed (not planned)"');
    expect((await refused([{ field: "priority", value: "Urgent" }])).hint).toMatch(/"High", "Medium", "Low"/);
    expect((await refused([{ field: "due_date", value: "2027-01-01" }])).message).toMatch(/no due date/);
    await refused([{ field: "story_points", value: 3 }]);
    await refused([{ field: "title", value: "  " }]);
    await refused([{ field: "labels", value: ["priority: High"] }]);
    // monalisa exists but is not a collaborator: GitHub would drop her silently.
    expect((await refused([{ field: "title", value: "ok" }, { field: "assignee", value: "monalisa" }])).message).toContain("monalisa");
    expect(fake.requests.slice(before).every((r) => r.method === "GET")).toBe(true);
    expect(p.editableFields.has("due_date")).toBe(false);
  });

  it("GitHub's refusals (422) and a deleted issue are RemoteErrors", async () => {
    const { fake, home, keys } = s;
    const { provider: p } = provider(home);
    const first = (await p.fetchIssue(keys[23]!))!;
    const refusal = await p.writeIssue(first, [{ field: "labels", value: ["x".repeat(60)] }]).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RemoteError);
    expect((refusal as RemoteError).message).toMatch(/^GitHub refused the change to acme\/web#\d+: /);
    expect((refusal as RemoteError).status).toBe(422);
    const cur = (await p.fetchIssue(keys[22]!))!;
    fake.remove(keys[22]!);
    await expect(p.writeIssue(cur, [{ field: "title", value: "too late" }])).rejects.toBeInstanceOf(RemoteError);
    expect(await p.fetchIssue(keys[22]!)).toBeNull();
  });
});

describe("GitHub units", () => {
  it("classifies GitHub's rate-limit answers", () => {
    const now = new Date(1_800_000_000_500);
    const c = (status: number, headers: Record<string, string>, text = "{}") => classifyGitHubResponse({ status, headers, text, now });
    expect(c(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1800000010" })).toMatchObject({ retry: true, rateLimited: true, waitMs: 10_500 });
    expect(c(429, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1799999000" })).toMatchObject({ waitMs: 0 });
    expect(c(403, { "retry-after": "30", "x-ratelimit-remaining": "0" })).toMatchObject({ waitMs: 30_000 });
    expect(c(403, {}, '{"message":"You have exceeded a secondary rate limit. Please wait a few minutes"}')).toMatchObject({ waitMs: 60_000, rateLimited: true });
    expect(c(403, { "x-ratelimit-remaining": "4999" }, '{"message":"Resource not accessible by personal access token"}')).toBeNull();
    expect(c(404, { "x-ratelimit-remaining": "0" })).toBeNull();
  });

  it("maps state and state_reason to status names and categories (SPEC §10), and names back", () => {
    expect([statusName("open", null), statusCategory("open", "reopened")]).toEqual(["Open", "todo"]);
    expect([statusName("closed", "completed"), statusCategory("closed", "completed")]).toEqual(["Closed", "done"]);
    expect([statusName("closed", null), statusCategory("closed", null)]).toEqual(["Closed", "done"]);
    expect([statusName("closed", "not_planned"), statusCategory("closed", "not_planned")]).toEqual(["Closed (not planned)", "cancelled"]);
    expect([statusName("closed", "duplicate"), statusCategory("closed", "duplicate")]).toEqual(["Closed (duplicate)", "cancelled"]);
    expect(statusPatch("closed (NOT PLANNED)")).toEqual({ state: "closed", state_reason: "not_planned" });
    expect(statusPatch("not_planned")).toEqual({ state: "closed", state_reason: "not_planned" });
    expect(statusPatch("Completed")).toEqual({ state: "closed", state_reason: "completed" });
    expect(statusPatch("OPEN")).toEqual({ state: "open" });
    expect(() => statusPatch("done")).toThrow(UsageError);
  });

  it("normalises an issue: key, priority label, parent, milestone due date, logins", () => {
    const raw = {
      id: 42, number: 7, html_url: "https://github.com/Acme/API/issues/7", repository_url: "https://api.github.com/repos/Acme/API",
      title: "T", body: null, state: "closed", state_reason: "completed", user: { login: "hubot" },
      labels: [{ name: "bug" }, { name: "Priority:  High" }, "docs"], assignees: [{ login: "octocat" }, { login: "hubot" }],
      milestone: { due_on: "2026-12-15T08:00:00Z" }, type: { name: "Bug" }, parent_issue_url: "https://api.github.com/repos/acme/api/issues/3",
      created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-02T00:00:00Z", closed_at: "2026-01-02T00:00:00Z",
    };
    const rec = normaliseIssue(raw, { fullName: "acme/api", id: 810001 });
    expect(rec.issue).toMatchObject({
      id: "42", key: "Acme/API#7", project: "Acme/API", type: "Bug", status: "Closed", status_category: "done", priority: "High",
      assignee: "octocat", reporter: "hubot", labels: ["bug", "docs"], parent: "acme/api#3", due_date: "2026-12-15",
      resolved_at: "2026-01-02T00:00:00.000Z", story_points: null, sprint: null,
    });
    expect(rec.updatedMs).toBe(Date.UTC(2026, 0, 2));
    expect(rec.projectInfo).toEqual({ key: "Acme/API", id: "810001", name: "API" });
  });

  it("reads Link headers, repositories, keys and API URLs", () => {
    const link = '<https://api.github.com/repositories/1/issues?labels=a%2Cb&page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last"';
    expect(nextLink(link)).toBe("https://api.github.com/repositories/1/issues?labels=a%2Cb&page=2");
    expect(nextLink('<https://x/?page=1>; rel="prev", <https://x/?page=1>; rel="first"')).toBeNull();
    expect(nextLink(undefined)).toBeNull();
    expect(normaliseRepo(" acme/api.git ")).toBe("acme/api");
    expect(() => normaliseRepo("acme")).toThrow(UsageError);
    expect(() => normaliseRepo("https://github.com/acme/api")).toThrow(UsageError);
    expect(parseIssueKey("acme/api#12")).toEqual({ repo: "acme/api", number: 12 });
    expect(() => parseIssueKey("acme/api-12")).toThrow(UsageError);
    expect(githubDefaultApiUrl("https://github.com")).toBe("https://api.github.com");
    expect(githubDefaultApiUrl("https://ghe.example.com")).toBe("https://ghe.example.com/api/v3");
    expect(githubDefaultApiUrl("https://octo.ghe.com")).toBe("https://api.octo.ghe.com");
    expect(githubDefaultApiUrl("http://127.0.0.1:4000")).toBe("http://127.0.0.1:4000");
    expect(sinceParam(Date.UTC(2026, 0, 1, 10, 0, 5, 999))).toBe("2026-01-01T10:00:05Z");
    expect(validationMessage({ message: "Validation Failed", errors: [{ resource: "Issue", field: "title", code: "missing_field" }, { message: "custom" }] })).toBe(
      "Validation Failed: title missing_field; custom",
    );
  });
});

describe("pmsync login github --device", () => {
  it("shows a code, waits for the approval on the fake, and saves an OAuth connection that syncs", async () => {
    const fake = await startGitHubFake({ deviceInterval: 1 });
    try {
      const keys = fake.seed(12);
      const home = tempHome();
      const args = ["login", "github", "--device", "--site", fake.url, "--client-id", fake.oauth.clientId, "--repo", "acme/api", "--insecure-storage", "--json"];
      const child = spawnCli(args, { home });
      const done = collect(child);
      let shown = "";
      await new Promise<void>((resolve) =>
        child.stderr!.on("data", (d: string) => {
          const code = /\b([0-9A-F]{4}-[0-9A-F]{4})\b/.exec((shown += d))?.[1];
          if (code) {
            fake.approveDevice(code);
            resolve();
          }
        }),
      );
      const r = await done;
      expect(r.code, r.stderr).toBe(0);
      expect(shown).toContain(`${fake.url}/login/device`);
      expect(JSON.parse(r.stdout)).toMatchObject({ provider: "github", account: { name: "The Octocat" } });
      const { result, report } = await syncJson(home, ["--full"]);
      expect(result.code, result.stderr).toBe(0);
      expect(report.runs[0].pulled).toBe(keys.filter((k) => k.startsWith("acme/api#")).length);
    } finally {
      await fake.close();
    }
  });
});

describe("the fake's OAuth web flow (for `pmsync login github --oauth`)", () => {
  let fake: GitHubFake;
  beforeEach(async () => {
    fake = await startGitHubFake();
  });
  afterEach(async () => {
    await fake.close();
  });

  async function authorize(params: Record<string, string>): Promise<URL> {
    const u = new URL(fake.oauth.authorizeUrl);
    for (const [k, v] of Object.entries({ client_id: fake.oauth.clientId, scope: "repo", state: "st4te", ...params })) u.searchParams.set(k, v);
    const res = await fetch(u, { redirect: "manual" });
    expect(res.status).toBe(302);
    return new URL(res.headers.get("location")!);
  }

  it("auto-approves onto any loopback port, then checks the secret and the PKCE verifier", async () => {
    const pkce = createPkce();
    const redirect = "http://127.0.0.1:53682/callback";
    const back = await authorize({ redirect_uri: redirect, code_challenge: pkce.challenge, code_challenge_method: "S256" });
    expect(back.origin + back.pathname).toBe(redirect);
    expect(back.searchParams.get("state")).toBe("st4te");
    const code = back.searchParams.get("code")!;
    const http = new HttpClient({ baseUrl: fake.url, headers: () => ({}), usage: new UsageRecorder(), loginHint: "pmsync login github --oauth" });
    const body = { client_id: fake.oauth.clientId, client_secret: fake.oauth.clientSecret, code, redirect_uri: redirect };
    // GitHub answers refusals with HTTP 200 and `error`: tokenRequest turns them into AuthErrors.
    await expect(tokenRequest(http, fake.oauth.tokenUrl, { ...body, code_verifier: "wrong".repeat(10) }, "x", "form")).rejects.toBeInstanceOf(AuthError);
    await expect(tokenRequest(http, fake.oauth.tokenUrl, { ...body, client_secret: "nope", code_verifier: pkce.verifier }, "x", "form")).rejects.toThrow(
      /incorrect_client_credentials/,
    );
    const tokens = await tokenRequest(http, fake.oauth.tokenUrl, { ...body, code_verifier: pkce.verifier }, "x", "form");
    expect(tokens).toMatchObject({ token_type: "bearer", scope: "repo" });
    expect((await fetch(`${fake.url}/user`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(200);
    // A code is good once.
    await expect(tokenRequest(http, fake.oauth.tokenUrl, { ...body, code_verifier: pkce.verifier }, "x", "form")).rejects.toThrow(/bad_verification_code/);
  });

  it("refuses a foreign redirect and a plain PKCE method, and reports a denial", async () => {
    const res = await fetch(`${fake.oauth.authorizeUrl}?client_id=${fake.oauth.clientId}&redirect_uri=${encodeURIComponent("https://evil.example/callback")}`, { redirect: "manual" });
    expect(res.status).toBe(400);
    const plain = await authorize({ redirect_uri: "http://127.0.0.1:1/callback", code_challenge: "abc", code_challenge_method: "plain" });
    expect(plain.searchParams.get("error")).toBe("invalid_request");
    fake.denyNextAuthorize();
    const denied = await authorize({ redirect_uri: "http://127.0.0.1:1/callback" });
    expect(denied.searchParams.get("error")).toBe("access_denied");
    expect(denied.searchParams.get("state")).toBe("st4te");
  });
});
