// The sandbox must behave like Jira Cloud REST v3: wire format, paging, JQL time zones, errors,
// OAuth 3LO. Each test starts its own server in-process and talks to it over real HTTP.

import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { runSandboxFromCli, startSandbox, type SandboxHandle, type SandboxOptions } from "../../src/sandbox/index.js";

const open: SandboxHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function sandbox(opts: SandboxOptions = {}): Promise<SandboxHandle> {
  const sb = await startSandbox({ issues: 300, ...opts });
  open.push(sb);
  return sb;
}

function basic(sb: SandboxHandle): Record<string, string> {
  return { authorization: "Basic " + Buffer.from(`${sb.email}:${sb.apiToken}`).toString("base64") };
}

type Json = Record<string, unknown>;
interface SearchPage {
  issues: Json[];
  nextPageToken?: string;
  isLast: boolean;
  total?: number;
}

async function search(sb: SandboxHandle, body: Json, headers = basic(sb)): Promise<{ status: number; json: SearchPage & Json }> {
  const res = await fetch(`${sb.url}/rest/api/3/search/jql`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as SearchPage & Json };
}

async function keysFor(sb: SandboxHandle, jql: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const { status, json } = await search(sb, { jql, fields: ["key"], maxResults: 1000, ...(token ? { nextPageToken: token } : {}) });
    expect(status, JSON.stringify(json)).toBe(200);
    keys.push(...json.issues.map((i) => String(i["key"])));
    token = json.nextPageToken;
  } while (token);
  return keys;
}

const FIXED_NOW = Date.UTC(2026, 1, 1, 12, 0, 0);

describe("sandbox: auth and metadata", () => {
  it("answers 401 with Jira's plain-text body for missing or wrong credentials, and counts the request", async () => {
    const sb = await sandbox();
    for (const headers of [{}, { authorization: "Basic " + Buffer.from(`${sb.email}:wrong`).toString("base64") }, { authorization: "Bearer nope" }]) {
      const res = await fetch(`${sb.url}/rest/api/3/myself`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(await res.text()).toBe("Client must be authenticated to access this resource.");
    }
    expect(sb.control.stats()).toMatchObject({ requests: 3, byEndpoint: { myself: 3 } });
  });

  it("GET /myself has the account's profile time zone", async () => {
    const sb = await sandbox({ timeZone: "Europe/Berlin", email: "ana@example.com" });
    const res = await fetch(`${sb.url}/rest/api/3/myself`, { headers: basic(sb) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json;charset=UTF-8");
    const me = (await res.json()) as Json;
    expect(me).toMatchObject({ accountType: "atlassian", emailAddress: "ana@example.com", active: true, timeZone: "Europe/Berlin", locale: "en_US", expand: "groups,applicationRoles" });
    expect(me["accountId"]).toMatch(/^[0-9a-f]{24}$|^557058:/);
    expect(me["groups"]).toMatchObject({ size: expect.any(Number), items: [] });
    expect(me["applicationRoles"]).toMatchObject({ items: [] });
    expect(String(me["self"])).toContain("/rest/api/3/user?accountId=");
  });

  it("serverInfo works anonymously and reports Cloud", async () => {
    const sb = await sandbox({ now: () => FIXED_NOW });
    const info = (await (await fetch(`${sb.url}/rest/api/3/serverInfo`)).json()) as Json;
    expect(info).toMatchObject({ baseUrl: sb.url, version: "1001.0.0-SNAPSHOT", deploymentType: "Cloud", serverTime: "2026-02-01T04:00:00.000-0800" });
  });

  it("GET /field lists system and custom fields with Jira's schema types", async () => {
    const sb = await sandbox();
    const fields = (await (await fetch(`${sb.url}/rest/api/3/field`, { headers: basic(sb) })).json()) as Json[];
    for (const f of fields) {
      expect(Object.keys(f)).toEqual(expect.arrayContaining(["id", "key", "name", "custom", "orderable", "navigable", "searchable", "clauseNames"]));
    }
    const byId = new Map(fields.map((f) => [f["id"], f]));
    for (const id of ["summary", "description", "issuetype", "status", "priority", "assignee", "reporter", "creator", "labels", "parent", "duedate", "created", "updated", "resolution", "resolutiondate", "project", "components", "fixVersions", "environment", "timetracking", "watches", "votes", "lastViewed", "comment", "attachment", "issuelinks", "worklog", "subtasks"]) {
      expect(byId.get(id), id).toBeDefined();
    }
    expect(byId.get("customfield_10020")).toMatchObject({
      name: "Sprint",
      custom: true,
      clauseNames: ["cf[10020]", "Sprint"],
      schema: { type: "array", items: "json", custom: "com.pyxis.greenhopper.jira:gh-sprint", customId: 10020 },
    });
    expect(byId.get("customfield_10016")).toMatchObject({ name: "Story point estimate", schema: { type: "number", custom: "com.pyxis.greenhopper.jira:jsw-story-points" } });
    expect(byId.get("customfield_10026")).toMatchObject({ name: "Story Points", schema: { type: "number", custom: "com.atlassian.jira.plugin.system.customfieldtypes:float" } });
    expect(byId.get("labels")).toMatchObject({ schema: { type: "array", items: "string", system: "labels" } });
    expect(byId.get("comment")).toMatchObject({ navigable: false });
    const teams = fields.filter((f) => f["name"] === "Team").map((f) => (f["schema"] as Json)["type"]);
    expect(teams.sort()).toEqual(["option", "string"]);
    for (const name of ["Severity", "Customer Impact", "Target start"]) expect(fields.some((f) => f["name"] === name), name).toBe(true);
  });

  it("project/search pages projects with isLast and total", async () => {
    const sb = await sandbox({ projects: ["ENG", "OPS", "WEB"] });
    const first = (await (await fetch(`${sb.url}/rest/api/3/project/search?maxResults=2`, { headers: basic(sb) })).json()) as Json;
    expect(first).toMatchObject({ startAt: 0, maxResults: 2, total: 3, isLast: false });
    expect((first["values"] as Json[]).map((p) => p["key"])).toEqual(["ENG", "OPS"]);
    expect((first["values"] as Json[])[0]).toMatchObject({ id: "10000", name: "Engineering", projectTypeKey: "software", simplified: false, style: "classic" });
    const second = (await (await fetch(String(first["nextPage"]), { headers: basic(sb) })).json()) as Json;
    expect(second).toMatchObject({ startAt: 2, isLast: true });
    expect((second["values"] as Json[]).map((p) => p["key"])).toEqual(["WEB"]);
  });

  it("carries rate-limit headers and enforces a configured burst limit with a real 429", async () => {
    const sb = await sandbox({ rateLimit: { capacity: 2, refillPerSecond: 0.001 } });
    const a = await fetch(`${sb.url}/rest/api/3/myself`, { headers: basic(sb) });
    expect(a.headers.get("x-ratelimit-limit")).toBe("2");
    expect(a.headers.get("x-ratelimit-remaining")).toBe("1");
    expect(a.headers.get("x-ratelimit-reset")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\dZ$/);
    await fetch(`${sb.url}/rest/api/3/myself`, { headers: basic(sb) });
    const c = await fetch(`${sb.url}/rest/api/3/myself`, { headers: basic(sb) });
    expect(c.status).toBe(429);
    expect(Number(c.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(c.headers.get("x-ratelimit-remaining")).toBe("0");
  });
});

describe("sandbox: /search/jql", () => {
  it("returns only ids by default, with isLast and never a total", async () => {
    const sb = await sandbox();
    const res = await fetch(`${sb.url}/rest/api/3/search/jql?jql=${encodeURIComponent("project = ENG")}&maxResults=5`, { headers: basic(sb) });
    const page = (await res.json()) as SearchPage;
    expect(page.issues).toHaveLength(5);
    for (const issue of page.issues) expect(Object.keys(issue)).toEqual(["id"]);
    expect(page.isLast).toBe(false);
    expect(typeof page.nextPageToken).toBe("string");
    expect("total" in page).toBe(false);
  });

  it("returns the requested fields only, ignores unknown ids, honours -exclusions", async () => {
    const sb = await sandbox();
    const { json } = await search(sb, { jql: "project = ENG", fields: ["summary", "status", "customfield_10020", "nosuchfield"], maxResults: 3 });
    for (const issue of json.issues) {
      expect(Object.keys(issue)).toEqual(["expand", "id", "self", "key", "fields"]);
      expect(Object.keys(issue["fields"] as Json).sort()).toEqual(["customfield_10020", "status", "summary"]);
      expect(String(issue["self"])).toBe(`${sb.url}/rest/api/3/issue/${String(issue["id"])}`);
      expect(issue["key"]).toMatch(/^ENG-\d+$/);
      const status = (issue["fields"] as Json)["status"] as Json;
      expect(status).toMatchObject({ statusCategory: { key: expect.stringMatching(/^(new|indeterminate|done)$/) } });
    }
    const all = await search(sb, { jql: "project = ENG", fields: ["*all", "-comment", "-description"], maxResults: 2 });
    const f = all.json.issues[0]?.["fields"] as Json;
    expect(f["comment"]).toBeUndefined();
    expect(f["description"]).toBeUndefined();
    expect(f["customfield_10016"]).not.toBeUndefined();
    expect(f["worklog"]).toBeDefined();
    const nav = await search(sb, { jql: "project = ENG", fields: ["*navigable"], maxResults: 2 });
    const g = nav.json.issues[0]?.["fields"] as Json;
    expect(g["summary"]).toBeDefined();
    expect(g["comment"]).toBeUndefined(); // not navigable
    expect(g["timetracking"]).toBeUndefined();
  });

  it("renders issues like Jira Cloud: ids, keys, users, ADF, timestamps in the account's zone", async () => {
    const sb = await sandbox({ issues: 400, now: () => FIXED_NOW });
    const { json } = await search(sb, { jql: "created >= -400d", fields: ["*all"], maxResults: 100 });
    const issues = json.issues;
    expect(issues).toHaveLength(100);
    const sizes: number[] = [];
    for (const issue of issues) {
      sizes.push(JSON.stringify(issue).length);
      const f = issue["fields"] as Json;
      expect(issue["id"]).toMatch(/^1\d{4}$/);
      expect(f["created"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-0[78]00$/);
      expect(Date.parse(String(f["updated"]))).toBeGreaterThanOrEqual(Date.parse(String(f["created"])));
      expect(Date.parse(String(f["updated"]))).toBeLessThan(FIXED_NOW);
      expect(f["project"]).toMatchObject({ key: expect.any(String), projectTypeKey: "software" });
      expect(f["reporter"]).toMatchObject({ accountId: expect.any(String), displayName: expect.any(String), accountType: expect.any(String), avatarUrls: { "48x48": expect.any(String) } });
      const d = f["description"];
      if (d !== null) expect(d).toMatchObject({ type: "doc", version: 1, content: expect.any(Array) });
      const status = f["status"] as Json;
      const cat = (status["statusCategory"] as Json)["key"];
      if (cat === "done") expect(f["resolution"]).not.toBeNull();
      else expect(f["resolution"]).toBeNull();
      const sprint = f["customfield_10020"];
      if (sprint !== null) expect(sprint).toEqual(expect.arrayContaining([expect.objectContaining({ id: expect.any(Number), state: expect.stringMatching(/closed|active|future/), boardId: expect.any(Number) })]));
      expect(f["watches"]).toMatchObject({ watchCount: expect.any(Number), isWatching: expect.any(Boolean) });
    }
    const types = new Set(issues.map((i) => ((i["fields"] as Json)["issuetype"] as Json)["name"]));
    expect([...types]).toEqual(expect.arrayContaining(["Story", "Bug", "Task", "Sub-task"]));
    const sub = issues.find((i) => ((i["fields"] as Json)["issuetype"] as Json)["subtask"] === true);
    expect(((sub?.["fields"] as Json)["parent"] as Json)["key"]).toMatch(/^[A-Z]+-\d+$/);
    expect(issues.some((i) => (i["fields"] as Json)["assignee"] === null)).toBe(true);
    const avg = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    expect(avg).toBeGreaterThan(2000);
    // ADF uses the node types pmsync must flatten
    const adf = JSON.stringify(issues.map((i) => (i["fields"] as Json)["description"]));
    for (const node of ["paragraph", "hardBreak", "bulletList", "orderedList", "listItem", "codeBlock", "heading", "mention"]) expect(adf).toContain(`"type":"${node}"`);
  });

  it("caps pages at 100 issues with fields, 5000 with ids only", async () => {
    const sb = await sandbox({ issues: 600 });
    const withFields = await search(sb, { jql: "created >= -1000d", fields: ["summary"], maxResults: 1000 });
    expect(withFields.json.issues).toHaveLength(100);
    const idsOnly = await search(sb, { jql: "created >= -1000d", maxResults: 1000 });
    expect(idsOnly.json.issues).toHaveLength(600);
    expect(idsOnly.json.isLast).toBe(true);
    const dflt = await search(sb, { jql: "created >= -1000d", fields: ["summary"] });
    expect(dflt.json.issues).toHaveLength(50);
  });

  it("omits nextPageToken on the last page and pages through every issue exactly once (GET and POST)", async () => {
    const sb = await sandbox({ issues: 257 });
    const jql = "updated >= 0 ORDER BY updated ASC, key ASC";
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    for (;;) {
      const { json } = await search(sb, { jql, fields: ["updated"], maxResults: 100, ...(token ? { nextPageToken: token } : {}) });
      pages++;
      expect("total" in json).toBe(false);
      seen.push(...json.issues.map((i) => String(i["id"])));
      if (json.isLast) {
        expect("nextPageToken" in json).toBe(false);
        break;
      }
      token = json.nextPageToken;
    }
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(257);
    expect(seen).toHaveLength(257);

    const viaGet: string[] = [];
    token = undefined;
    do {
      const q = new URLSearchParams({ jql, maxResults: "40", fields: "key,updated" });
      if (token) q.set("nextPageToken", token);
      const page = (await (await fetch(`${sb.url}/rest/api/3/search/jql?${q}`, { headers: basic(sb) })).json()) as SearchPage;
      viaGet.push(...page.issues.map((i) => String(i["id"])));
      token = page.nextPageToken;
    } while (token);
    expect(viaGet).toEqual(seen);
  });

  it("orders by updated (ties by key) and keeps paging sane while issues are touched mid-way", async () => {
    let now = FIXED_NOW;
    const sb = await sandbox({ issues: 200, now: () => now });
    const jql = "project in (ENG, OPS, WEB) ORDER BY updated ASC, key ASC";
    const first = await search(sb, { jql, fields: ["updated"], maxResults: 50 });
    const times = first.json.issues.map((i) => Date.parse(String((i["fields"] as Json)["updated"])));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // edit two issues already returned and two not yet returned
    const returned = first.json.issues.slice(0, 2).map((i) => String(i["key"]));
    now += 60_000;
    sb.control.touch({ keys: returned });
    const seen = first.json.issues.map((i) => String(i["key"]));
    let token = first.json.nextPageToken;
    while (token) {
      const { json } = await search(sb, { jql, fields: ["updated"], maxResults: 50, nextPageToken: token });
      seen.push(...json.issues.map((i) => String(i["key"])));
      token = json.nextPageToken;
    }
    // nothing is skipped; the touched ones come round again at the end
    expect(new Set(seen).size).toBe(200);
    expect(seen.slice(-2).sort()).toEqual([...returned].sort());
  });

  it("rejects a nextPageToken that belongs to another query", async () => {
    const sb = await sandbox();
    const { json } = await search(sb, { jql: "project = ENG", maxResults: 5 });
    const other = await search(sb, { jql: "project = OPS", maxResults: 5, nextPageToken: json.nextPageToken });
    expect(other.status).toBe(400);
    expect(other.json["errorMessages"]).toEqual([expect.stringMatching(/token/i)]);
    const garbage = await search(sb, { jql: "project = ENG", nextPageToken: "not-a-token" });
    expect(garbage.status).toBe(400);
  });

  it("rejects unbounded JQL and reports syntax errors like Jira", async () => {
    const sb = await sandbox();
    for (const jql of ["", "   ", "ORDER BY updated DESC"]) {
      const { status, json } = await search(sb, { jql });
      expect(status).toBe(400);
      expect(json).toEqual({ errorMessages: ["Unbounded JQL queries are not allowed here. Please add a search restriction to your query."], errors: {} });
    }
    const missing = await search(sb, { jql: "project = " });
    expect(missing.status).toBe(400);
    expect((missing.json["errorMessages"] as string[])[0]).toMatch(/^Error in the JQL Query: Expecting either a value, list or function but got '<EOF>'/);
    const junk = await search(sb, { jql: "project = ENG garbage" });
    expect((junk.json["errorMessages"] as string[])[0]).toMatch(/^Error in the JQL Query: /);
    const field = await search(sb, { jql: "nosuch = 1" });
    expect(field.json["errorMessages"]).toEqual(["Field 'nosuch' does not exist or you do not have permission to view it."]);
    const project = await search(sb, { jql: "project = NOPE" });
    expect(project.json["errorMessages"]).toEqual(["The value 'NOPE' does not exist for the field 'project'."]);
    const date = await search(sb, { jql: 'updated >= "2026-02-30"' });
    expect((date.json["errorMessages"] as string[])[0]).toMatch(/^Date value '2026-02-30' for field 'updated' is invalid/);
    const payload = await fetch(`${sb.url}/rest/api/3/search/jql`, { method: "POST", headers: { ...basic(sb), "content-type": "application/json" }, body: "{nope" });
    expect(payload.status).toBe(400);
    const removed = await fetch(`${sb.url}/rest/api/3/search?jql=project%3DENG`, { headers: basic(sb) });
    expect(removed.status).toBe(410);
  });

  it("answers the queries pmsync sends (full: created bound + projects; incremental: epoch ms)", async () => {
    let now = FIXED_NOW;
    const sb = await sandbox({ now: () => now });
    const full = await keysFor(sb, 'project in ("ENG", "OPS") AND created >= "1970-01-01" ORDER BY updated ASC, key ASC');
    const eng = await keysFor(sb, "project = ENG");
    const ops = await keysFor(sb, "project = OPS");
    expect(full.length).toBe(eng.length + ops.length);
    now += 120_000;
    const touched = sb.control.touch({ keys: ["WEB-2", "ENG-9", "ENG-10"] });
    const since = Math.floor((now - 60_000) / 60_000) * 60_000;
    // all three share one `updated` instant: ties go by key, numerically within a project
    expect(touched).toHaveLength(3);
    expect(await keysFor(sb, `updated >= ${since} ORDER BY updated ASC, key ASC`)).toEqual(["ENG-9", "ENG-10", "WEB-2"]);
    expect(await keysFor(sb, `updated >= ${since} ORDER BY updated DESC, key DESC`)).toEqual(["WEB-2", "ENG-10", "ENG-9"]);
    const count = await fetch(`${sb.url}/rest/api/3/search/approximate-count`, { method: "POST", headers: { ...basic(sb), "content-type": "application/json" }, body: JSON.stringify({ jql: "project = OPS" }) });
    expect(await count.json()).toEqual({ count: ops.length });
  });

  it("adds names and schema for expand=names,schema", async () => {
    const sb = await sandbox();
    const { json } = await search(sb, { jql: "project = ENG", fields: ["summary", "customfield_10020"], expand: "names,schema", maxResults: 1 });
    expect(json["names"]).toEqual({ summary: "Summary", customfield_10020: "Sprint" });
    expect((json["schema"] as Json)["customfield_10020"]).toMatchObject({ custom: "com.pyxis.greenhopper.jira:gh-sprint" });
  });

  it("adds latencyMs before answering /rest requests", async () => {
    const sb = await sandbox({ latencyMs: 120 });
    const t0 = Date.now();
    await fetch(`${sb.url}/rest/api/3/myself`, { headers: basic(sb) });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
  });

  it("supports key/id lists, OR, NOT and parentheses", async () => {
    const sb = await sandbox();
    expect((await keysFor(sb, "key in (ENG-3, OPS-2, eng-1) ORDER BY key ASC"))).toEqual(["ENG-1", "ENG-3", "OPS-2"]);
    expect(await keysFor(sb, "id = 10000")).toHaveLength(1);
    const either = await keysFor(sb, "(key = ENG-1 OR key = ENG-2) AND NOT key = ENG-2");
    expect(either).toEqual(["ENG-1"]);
    const eng = await keysFor(sb, "project = ENG");
    const notEng = await keysFor(sb, "project != ENG");
    expect(eng.length + notEng.length).toBe(300);
  });
});

describe("sandbox: JQL dates are read in the account's time zone at minute precision", () => {
  it('"2026-01-10 10:00" in America/Los_Angeles means 18:00 UTC; a naive UTC literal loses an issue touched at 17:30 UTC', async () => {
    const sb = await sandbox({ timeZone: "America/Los_Angeles", now: () => FIXED_NOW });
    sb.control.setIssueUpdated("ENG-1", Date.UTC(2026, 0, 10, 17, 30)); // 09:30 PST
    sb.control.setIssueUpdated("ENG-2", Date.UTC(2026, 0, 10, 18, 0, 0, 0)); // 10:00 PST exactly
    sb.control.setIssueUpdated("ENG-3", Date.UTC(2026, 0, 10, 17, 59, 59, 999));
    const scope = "key in (ENG-1, ENG-2, ENG-3)";

    expect(await keysFor(sb, `${scope} AND updated >= "2026-01-10 10:00" ORDER BY key ASC`)).toEqual(["ENG-2"]);
    expect(await keysFor(sb, `${scope} AND updated >= "2026/01/10 10:00" ORDER BY key ASC`)).toEqual(["ENG-2"]);
    // A client that wants "since 17:00 UTC" and sends it as a UTC wall-clock literal asks for
    // 17:00 Pacific = 01:00 UTC the next day, and silently misses ENG-1 (and the others).
    expect(await keysFor(sb, `${scope} AND updated >= "2026-01-10 17:00" ORDER BY key ASC`)).toEqual([]);
    // The same instant in the account's zone, or as epoch milliseconds, finds all of them.
    expect(await keysFor(sb, `${scope} AND updated >= "2026-01-10 09:00" ORDER BY key ASC`)).toEqual(["ENG-1", "ENG-2", "ENG-3"]);
    expect(await keysFor(sb, `${scope} AND updated >= ${Date.UTC(2026, 0, 10, 17, 0)} ORDER BY key ASC`)).toEqual(["ENG-1", "ENG-2", "ENG-3"]);
    // date-only literals are midnight in the account's zone (08:00 UTC)
    expect(await keysFor(sb, `${scope} AND updated < "2026-01-10" ORDER BY key ASC`)).toEqual([]);
    expect(await keysFor(sb, `${scope} AND updated >= 2026-01-10 AND updated < "2026/01/11" ORDER BY key ASC`)).toEqual(["ENG-1", "ENG-2", "ENG-3"]);
  });

  it("follows daylight saving time (PDT is UTC-7)", async () => {
    const sb = await sandbox({ timeZone: "America/Los_Angeles", now: () => Date.UTC(2026, 7, 1) });
    sb.control.setIssueUpdated("ENG-1", Date.UTC(2026, 6, 1, 17, 0)); // 10:00 PDT
    expect(await keysFor(sb, 'key = ENG-1 AND updated >= "2026-07-01 10:00"')).toEqual(["ENG-1"]);
    expect(await keysFor(sb, 'key = ENG-1 AND updated >= "2026-07-01 10:01"')).toEqual([]);
    const issue = sb.control.getIssue("ENG-1");
    expect((issue?.["fields"] as Json)["updated"]).toBe("2026-07-01T10:00:00.000-0700");
  });

  it("epoch-millisecond literals compare at minute precision (truncated, so results never shrink)", async () => {
    const sb = await sandbox({ now: () => FIXED_NOW });
    sb.control.setIssueUpdated("ENG-1", Date.UTC(2026, 0, 10, 17, 30, 10));
    const literal = Date.UTC(2026, 0, 10, 17, 30, 45, 500); // later than the issue, same minute
    expect(await keysFor(sb, `key = ENG-1 AND updated >= ${literal}`)).toEqual(["ENG-1"]);
    expect(await keysFor(sb, `key = ENG-1 AND updated >= ${Date.UTC(2026, 0, 10, 17, 31)}`)).toEqual([]);
  });

  it("relative periods count back from now", async () => {
    let now = FIXED_NOW;
    const sb = await sandbox({ now: () => now });
    now += 3_600_000;
    const [key] = sb.control.touch({ count: 1 });
    const recent = await keysFor(sb, "updated >= -10m");
    expect(recent).toEqual([key]);
    expect(await keysFor(sb, "updated >= -2h")).toContain(key);
    expect((await keysFor(sb, "updated >= -1w")).length).toBeGreaterThanOrEqual(1);
  });
});

describe("sandbox: control operations", () => {
  it("touch edits real content and moves updated to now; touchVolatile changes only lastViewed and watchCount", async () => {
    let now = FIXED_NOW;
    const sb = await sandbox({ now: () => now });
    const before = sb.control.getIssue("ENG-5") as Json;
    now += 90_000;
    expect(sb.control.touch({ keys: ["ENG-5", "NOPE-1"] })).toEqual(["ENG-5"]);
    const after = sb.control.getIssue("ENG-5") as Json;
    const fb = before["fields"] as Json;
    const fa = after["fields"] as Json;
    expect(Date.parse(String(fa["updated"]))).toBe(now);
    const edited = ["summary", "status", "assignee", "labels", "customfield_10016"].filter((k) => JSON.stringify(fb[k]) !== JSON.stringify(fa[k]));
    expect(edited.length).toBeGreaterThan(0);
    expect(fa["created"]).toBe(fb["created"]);

    now += 60_000;
    expect(sb.control.touchVolatile({ keys: ["ENG-6"] })).toEqual(["ENG-6"]);
    const v0 = sb.control.getIssue("ENG-6") as Json;
    sb.control.touchVolatile({ keys: ["ENG-6"] });
    const v1 = sb.control.getIssue("ENG-6") as Json;
    const f0 = v0["fields"] as Json;
    const f1 = v1["fields"] as Json;
    expect(f1["updated"]).toBe(f0["updated"]);
    expect(Date.parse(String(f1["lastViewed"]))).toBe(now);
    expect((f1["watches"] as Json)["watchCount"]).toBe(((f0["watches"] as Json)["watchCount"] as number) + 1);
    const strip = (f: Json): Json => ({ ...f, lastViewed: null, watches: null });
    expect(strip(f1)).toEqual(strip(f0));
    // touched-by-count picks distinct live issues
    const many = sb.control.touch({ count: 25 });
    expect(new Set(many).size).toBe(25);
  });

  it("remove makes issues vanish (404, not in search); create adds new To Do issues", async () => {
    const sb = await sandbox();
    const gone = sb.control.remove({ keys: ["OPS-3"] });
    expect(gone[0]).toBe("OPS-3");
    expect(sb.control.issueCount()).toBe(300 - gone.length);
    const live = sb.control.issueCount();
    const res = await fetch(`${sb.url}/rest/api/3/issue/OPS-3`, { headers: basic(sb) });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ errorMessages: ["Issue does not exist or you do not have permission to see it."], errors: {} });
    expect(await keysFor(sb, "project = OPS")).not.toContain("OPS-3");
    expect(sb.control.getIssue("OPS-3")).toBeNull();

    // by count: exactly that many go; by key, a parent takes its sub-tasks along
    expect(sb.control.remove({ count: 5 })).toHaveLength(5);
    const sub = (await keysFor(sb, "created >= -1000d")).map((k) => sb.control.getIssue(k) as Json).find((i) => ((i["fields"] as Json)["issuetype"] as Json)["subtask"] === true);
    const parentKey = String((((sub?.["fields"] as Json)["parent"]) as Json)["key"]);
    const cascade = sb.control.remove({ keys: [parentKey] });
    expect(cascade[0]).toBe(parentKey);
    expect(cascade).toContain(String(sub?.["key"]));
    expect(sb.control.issueCount()).toBe(live - 5 - cascade.length);

    const made = sb.control.create({ count: 2, project: "WEB" });
    expect(made).toHaveLength(2);
    for (const k of made) expect(k).toMatch(/^WEB-\d+$/);
    const issue = (await (await fetch(`${sb.url}/rest/api/3/issue/${made[0]}?fields=status,created,updated`, { headers: basic(sb) })).json()) as Json;
    const f = issue["fields"] as Json;
    expect(Object.keys(f).sort()).toEqual(["created", "status", "updated"]);
    expect((f["status"] as Json)["name"]).toBe("To Do");
    expect(f["created"]).toBe(f["updated"]);
    expect(await keysFor(sb, `key in (${made.join(", ")})`)).toHaveLength(2);
  });

  it("is deterministic for a seed and clock", async () => {
    const a = await sandbox({ seed: 7, now: () => FIXED_NOW, issues: 50 });
    const b = await sandbox({ seed: 7, now: () => FIXED_NOW, issues: 50 });
    const c = await sandbox({ seed: 8, now: () => FIXED_NOW, issues: 50 });
    const norm = (sb: SandboxHandle, key: string): string => JSON.stringify(sb.control.getIssue(key)).split(sb.url).join("URL");
    expect(norm(a, "ENG-4")).toBe(norm(b, "ENG-4"));
    expect(norm(a, "ENG-4")).not.toBe(norm(c, "ENG-4"));
  });

  it("serves the control API over HTTP without auth", async () => {
    const sb = await sandbox();
    const post = async (path: string, body: unknown): Promise<Json> =>
      (await (await fetch(`${sb.url}/_sandbox/${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).json()) as Json;
    expect(((await post("touch", { count: 3 }))["keys"] as string[]).length).toBe(3);
    expect((await post("touch-volatile", { keys: ["ENG-2"] }))["keys"]).toEqual(["ENG-2"]);
    expect((await post("delete", { keys: ["ENG-2"] }))["keys"]).toEqual(["ENG-2"]);
    expect(((await post("create", { count: 1, project: "OPS" }))["keys"] as string[])[0]).toMatch(/^OPS-/);
    await post("faults", { kind: "500", endpoint: "myself" });
    expect((await fetch(`${sb.url}/rest/api/3/myself`, { headers: basic(sb) })).status).toBe(500);
    await post("faults", { kind: "500", endpoint: "myself" });
    await fetch(`${sb.url}/_sandbox/faults`, { method: "DELETE" });
    expect((await fetch(`${sb.url}/rest/api/3/myself`, { headers: basic(sb) })).status).toBe(200);
    const stats = (await (await fetch(`${sb.url}/_sandbox/stats`)).json()) as Json;
    expect(stats).toMatchObject({ requests: 2, byEndpoint: { myself: 2 }, searchRequests: 0 });
    expect(await post("stats/reset", {})).toMatchObject({ requests: 0 });
    const info = (await (await fetch(`${sb.url}/_sandbox/info`)).json()) as Json;
    expect(info).toEqual({ url: sb.url, email: sb.email, apiToken: sb.apiToken, cloudId: sb.cloudId, issues: 300, timeZone: "America/Los_Angeles" });
    const bad = await fetch(`${sb.url}/_sandbox/faults`, { method: "POST", body: JSON.stringify({ kind: "teapot" }) });
    expect(bad.status).toBe(400);
  });

  it("runSandboxFromCli prints one JSON line", async () => {
    const lines: string[] = [];
    const sb = await runSandboxFromCli({ issues: 20, timeZone: "Asia/Tokyo" }, (l) => lines.push(l));
    open.push(sb);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "")).toEqual({ url: sb.url, email: sb.email, api_token: sb.apiToken, cloud_id: sb.cloudId, issues: 20, time_zone: "Asia/Tokyo" });
    expect(sb.apiToken).toHaveLength(24);
  });
});

describe("sandbox: faults", () => {
  const jql = { jql: "project = ENG", fields: ["summary"], maxResults: 5 };
  const post = (sb: SandboxHandle, signal?: AbortSignal): Promise<Response> =>
    fetch(`${sb.url}/rest/api/3/search/jql`, { method: "POST", headers: { ...basic(sb), "content-type": "application/json" }, body: JSON.stringify(jql), ...(signal ? { signal } : {}) });

  it("429 with Retry-After and X-RateLimit-Remaining: 0, consumed one request at a time", async () => {
    const sb = await sandbox();
    sb.control.fault({ kind: "429", count: 2, retryAfter: 7 });
    for (let k = 0; k < 2; k++) {
      const res = await post(sb);
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("7");
      expect(res.headers.get("x-ratelimit-remaining")).toBe("0");
      expect(await res.json()).toEqual({ errorMessages: ["Rate limit exceeded."] });
    }
    expect((await post(sb)).status).toBe(200);
    expect(sb.control.stats().searchRequests).toBe(3);
  });

  it("503 (with Retry-After when given) and 500", async () => {
    const sb = await sandbox();
    sb.control.fault({ kind: "503", retryAfter: 2 });
    sb.control.fault({ kind: "500" });
    const a = await post(sb);
    expect(a.status).toBe(503);
    expect(a.headers.get("retry-after")).toBe("2");
    await a.text();
    const b = await post(sb);
    expect(b.status).toBe(500);
    expect(await b.json()).toMatchObject({ errorMessages: [expect.any(String)] });
  });

  it("malformed JSON and HTML pages arrive as 200s", async () => {
    const sb = await sandbox();
    sb.control.fault({ kind: "malformed" });
    sb.control.fault({ kind: "html" });
    const a = await post(sb);
    expect(a.status).toBe(200);
    expect(a.headers.get("content-type")).toMatch(/application\/json/);
    const text = await a.text();
    expect(() => JSON.parse(text) as unknown).toThrow();
    const b = await post(sb);
    expect(b.status).toBe(200);
    expect(b.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await b.text()).toMatch(/<html/i);
  });

  it("a garbled page is well framed but does not parse; skip lets matching requests through first", async () => {
    const sb = await sandbox();
    sb.control.fault({ kind: "garbled", skip: 1 });
    const first = await post(sb);
    expect(JSON.parse(await first.text())).toMatchObject({ issues: expect.any(Array) });
    const b = await post(sb);
    expect(b.status).toBe(200);
    const text = await b.text();
    expect(Number(b.headers.get("content-length"))).toBe(Buffer.byteLength(text));
    expect(text.trimStart()[0]).toBe("{");
    expect(text.trimEnd().endsWith("}")).toBe(true);
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(JSON.parse(await (await post(sb)).text())).toMatchObject({ issues: expect.any(Array) });
  });

  it("truncated bodies and reset connections fail on the client", async () => {
    const sb = await sandbox();
    sb.control.fault({ kind: "truncated" });
    const a = await post(sb);
    expect(a.status).toBe(200);
    expect(Number(a.headers.get("content-length"))).toBeGreaterThan(0);
    await expect(a.text()).rejects.toThrow();
    sb.control.fault({ kind: "reset" });
    await expect(post(sb)).rejects.toThrow();
    expect((await post(sb)).status).toBe(200);
  });

  it("hang never answers, and close() still returns promptly", async () => {
    const sb = await startSandbox({ issues: 20 });
    sb.control.fault({ kind: "hang", endpoint: "any" });
    const pending = fetch(`${sb.url}/rest/api/3/myself`, { headers: basic(sb) }).then(
      () => "answered",
      () => "failed",
    );
    const early = await Promise.race([pending, new Promise((r) => setTimeout(() => r("still waiting"), 300))]);
    expect(early).toBe("still waiting");
    const t0 = Date.now();
    await sb.close();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await pending).toBe("failed");
  });

  it("targets one endpoint class", async () => {
    const sb = await sandbox();
    sb.control.fault({ kind: "500", endpoint: "issue" });
    expect((await post(sb)).status).toBe(200);
    expect((await fetch(`${sb.url}/rest/api/3/myself`, { headers: basic(sb) })).status).toBe(200);
    expect((await fetch(`${sb.url}/rest/api/3/issue/ENG-1`, { headers: basic(sb) })).status).toBe(500);
    expect((await fetch(`${sb.url}/rest/api/3/issue/ENG-1`, { headers: basic(sb) })).status).toBe(200);
  });
});

describe("sandbox: OAuth 2.0 (3LO)", () => {
  const redirectUri = "http://127.0.0.1:9876/callback";

  async function authorize(sb: SandboxHandle, extra: Record<string, string> = {}): Promise<{ code: string; verifier: string }> {
    const verifier = randomBytes(32).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const q = new URLSearchParams({
      audience: "api.atlassian.com",
      client_id: "sandbox-client",
      scope: "read:jira-work read:jira-user offline_access",
      redirect_uri: redirectUri,
      state: "st4te",
      response_type: "code",
      prompt: "consent",
      code_challenge: challenge,
      code_challenge_method: "S256",
      ...extra,
    });
    const res = await fetch(`${sb.url}/authorize?${q}`, { redirect: "manual" });
    expect(res.status).toBe(302);
    const loc = new URL(res.headers.get("location") ?? "");
    expect(`${loc.origin}${loc.pathname}`).toBe(redirectUri);
    expect(loc.searchParams.get("state")).toBe("st4te");
    return { code: loc.searchParams.get("code") ?? "", verifier };
  }

  async function token(sb: SandboxHandle, body: Record<string, string>, form = false): Promise<{ status: number; json: Json }> {
    const res = await fetch(`${sb.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": form ? "application/x-www-form-urlencoded" : "application/json" },
      body: form ? new URLSearchParams(body).toString() : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Json };
  }

  const client = { client_id: "sandbox-client", client_secret: "sandbox-secret" };

  it("code + PKCE flow, accessible-resources, and the /ex/jira/{cloudId} gateway", async () => {
    const sb = await sandbox();
    const { code, verifier } = await authorize(sb);

    const noSecret = await token(sb, { grant_type: "authorization_code", client_id: "sandbox-client", code, redirect_uri: redirectUri, code_verifier: verifier });
    expect(noSecret.status).toBe(401);
    expect(noSecret.json).toMatchObject({ error: "access_denied" });
    const badVerifier = await token(sb, { grant_type: "authorization_code", ...client, code, redirect_uri: redirectUri, code_verifier: "x".repeat(43) });
    expect(badVerifier.status).toBe(403);
    expect(badVerifier.json).toMatchObject({ error: "invalid_grant" });
    const badRedirect = await token(sb, { grant_type: "authorization_code", ...client, code, redirect_uri: "http://127.0.0.1:1/callback", code_verifier: verifier });
    expect(badRedirect.status).toBe(403);

    const ok = await token(sb, { grant_type: "authorization_code", ...client, code, redirect_uri: redirectUri, code_verifier: verifier }, true);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ token_type: "Bearer", expires_in: 3600, scope: "read:jira-work read:jira-user offline_access" });
    const access = String(ok.json["access_token"]);
    expect(typeof ok.json["refresh_token"]).toBe("string");

    // the code is single use
    const again = await token(sb, { grant_type: "authorization_code", ...client, code, redirect_uri: redirectUri, code_verifier: verifier });
    expect(again.status).toBe(403);

    // (the replay revoked that grant: run a fresh one for the rest)
    const fresh = await authorize(sb);
    const granted = await token(sb, { grant_type: "authorization_code", ...client, code: fresh.code, redirect_uri: redirectUri, code_verifier: fresh.verifier });
    const bearer = { authorization: `Bearer ${String(granted.json["access_token"])}` };
    expect((await fetch(`${sb.url}/oauth/token/accessible-resources`, { headers: { authorization: `Bearer ${access}` } })).status).toBe(401);

    const resources = (await (await fetch(`${sb.url}/oauth/token/accessible-resources`, { headers: bearer })).json()) as Json[];
    expect(resources).toEqual([{ id: sb.cloudId, name: "sandbox", url: sb.url, scopes: ["read:jira-work", "read:jira-user"], avatarUrl: expect.any(String) }]);

    const base = `${sb.url}/ex/jira/${sb.cloudId}`;
    const me = await fetch(`${base}/rest/api/3/myself`, { headers: bearer });
    expect(me.status).toBe(200);
    const res = await fetch(`${base}/rest/api/3/search/jql`, { method: "POST", headers: { ...bearer, "content-type": "application/json" }, body: JSON.stringify({ jql: "project = ENG", fields: ["status"], maxResults: 1 }) });
    const page = (await res.json()) as SearchPage;
    expect(String(page.issues[0]?.["self"])).toBe(`${base}/rest/api/3/issue/${String(page.issues[0]?.["id"])}`);
    const anonymous = await fetch(`${base}/rest/api/3/myself`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ code: 401, message: "Unauthorized" });

    sb.control.expireAccessTokens();
    expect((await fetch(`${base}/rest/api/3/myself`, { headers: bearer })).status).toBe(401);
  });

  it("rejects unknown clients and non-loopback redirects without redirecting", async () => {
    const sb = await sandbox();
    const q = (over: Record<string, string>): string =>
      new URLSearchParams({ audience: "api.atlassian.com", client_id: "sandbox-client", scope: "read:jira-work", redirect_uri: redirectUri, state: "s", response_type: "code", ...over }).toString();
    expect((await fetch(`${sb.url}/authorize?${q({ client_id: "someone-else" })}`, { redirect: "manual" })).status).toBe(400);
    expect((await fetch(`${sb.url}/authorize?${q({ redirect_uri: "https://evil.example.com/callback" })}`, { redirect: "manual" })).status).toBe(400);
    const noAudience = await fetch(`${sb.url}/authorize?${q({ audience: "" })}`, { redirect: "manual" });
    expect(new URL(noAudience.headers.get("location") ?? "").searchParams.get("error")).toBe("invalid_request");
  });

  it("shows a consent page when autoApprove is off; Cancel redirects with error=access_denied", async () => {
    const sb = await sandbox({ oauth: { clientId: "cli", clientSecret: "sec", autoApprove: false } });
    const q = new URLSearchParams({ audience: "api.atlassian.com", client_id: "cli", scope: "read:jira-work", redirect_uri: redirectUri, state: "s1", response_type: "code" });
    const pageRes = await fetch(`${sb.url}/authorize?${q}`, { redirect: "manual" });
    expect(pageRes.status).toBe(200);
    const html = await pageRes.text();
    const accept = /id="accept" href="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, "&") ?? "";
    const ok = await fetch(`${sb.url}${accept}`, { redirect: "manual" });
    const loc = new URL(ok.headers.get("location") ?? "");
    expect(loc.searchParams.get("state")).toBe("s1");
    const code = loc.searchParams.get("code") ?? "";
    // no challenge was sent, so no verifier is needed; the secret still is
    const t = await token(sb, { grant_type: "authorization_code", client_id: "cli", client_secret: "sec", code, redirect_uri: redirectUri });
    expect(t.status).toBe(200);
    expect(t.json["refresh_token"]).toBeUndefined(); // no offline_access, no refresh token

    const second = await fetch(`${sb.url}/authorize?${q}`, { redirect: "manual" });
    const deny = /id="deny" href="([^"]+)"/.exec(await second.text())?.[1]?.replace(/&amp;/g, "&") ?? "";
    const denied = new URL((await fetch(`${sb.url}${deny}`, { redirect: "manual" })).headers.get("location") ?? "");
    expect(denied.searchParams.get("error")).toBe("access_denied");
    expect(denied.searchParams.get("state")).toBe("s1");
  });

  it("rotates refresh tokens and revokes the whole family when a rotated one is reused", async () => {
    const sb = await sandbox();
    const { code, verifier } = await authorize(sb);
    const first = await token(sb, { grant_type: "authorization_code", ...client, code, redirect_uri: redirectUri, code_verifier: verifier });
    const r1 = String(first.json["refresh_token"]);

    const second = await token(sb, { grant_type: "refresh_token", ...client, refresh_token: r1 });
    expect(second.status).toBe(200);
    const r2 = String(second.json["refresh_token"]);
    const a2 = String(second.json["access_token"]);
    expect(r2).not.toBe(r1);
    expect(a2).not.toBe(String(first.json["access_token"]));
    const base = `${sb.url}/ex/jira/${sb.cloudId}/rest/api/3/myself`;
    expect((await fetch(base, { headers: { authorization: `Bearer ${a2}` } })).status).toBe(200);

    const noSecret = await token(sb, { grant_type: "refresh_token", client_id: "sandbox-client", refresh_token: r2 });
    expect(noSecret.status).toBe(401);

    // reuse of the rotated token: refused, and everything of that grant is revoked
    const reuse = await token(sb, { grant_type: "refresh_token", ...client, refresh_token: r1 });
    expect(reuse.status).toBe(403);
    expect(reuse.json).toEqual({ error: "unauthorized_client", error_description: "refresh_token is invalid" });
    const afterRevoke = await token(sb, { grant_type: "refresh_token", ...client, refresh_token: r2 });
    expect(afterRevoke.status).toBe(403);
    expect((await fetch(base, { headers: { authorization: `Bearer ${a2}` } })).status).toBe(401);
  });
});

describe("sandbox: stats", () => {
  it("counts every /rest and /oauth request (401s and faults too), never control calls", async () => {
    const sb = await sandbox();
    await fetch(`${sb.url}/rest/api/3/myself`);
    sb.control.fault({ kind: "500" });
    await search(sb, { jql: "project = ENG" });
    await search(sb, { jql: "project = ENG" });
    await fetch(`${sb.url}/rest/api/3/field`, { headers: basic(sb) });
    await fetch(`${sb.url}/oauth/token`, { method: "POST", body: "{}" });
    await fetch(`${sb.url}/_sandbox/stats`);
    expect(sb.control.stats()).toEqual({ requests: 5, byEndpoint: { myself: 1, search: 2, field: 1, token: 1 }, searchRequests: 2 });
    sb.control.resetStats();
    expect(sb.control.stats()).toEqual({ requests: 0, byEndpoint: {}, searchRequests: 0 });
  });
});

describe("sandbox: render cache", () => {
  /** pmsync's search fields, in the order pmsync sends them (system fields, then custom ids). */
  const PMSYNC_FIELDS = [
    "summary", "description", "issuetype", "status", "priority", "assignee", "reporter",
    "labels", "parent", "duedate", "created", "updated", "resolution", "resolutiondate", "project",
    "components", "fixVersions", "versions", "environment", "timetracking", "lastViewed",
    "customfield_10000", "customfield_10016", "customfield_10019", "customfield_10020", "customfield_10022",
    "customfield_10026", "customfield_10040", "customfield_10041", "customfield_10042", "customfield_10043",
    "customfield_10044", "customfield_10045",
  ];
  const FULL_JQL = 'created >= "1970-01-01" ORDER BY updated ASC, key ASC';

  /** Every page of a full pull as raw bytes, with the sandbox's URL replaced so two sandboxes compare. */
  async function pullRaw(sb: SandboxHandle, fields: string[], expand?: string): Promise<string> {
    const pages: string[] = [];
    let token: string | undefined;
    do {
      const body = { jql: FULL_JQL, fields, maxResults: 100, ...(expand ? { expand } : {}), ...(token ? { nextPageToken: token } : {}) };
      const res = await fetch(`${sb.url}/rest/api/3/search/jql`, { method: "POST", headers: { ...basic(sb), "content-type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      const text = Buffer.from(await res.arrayBuffer()).toString("utf8");
      pages.push(text.split(sb.url).join("URL"));
      token = (JSON.parse(text) as SearchPage).nextPageToken;
    } while (token);
    return pages.join("\n");
  }

  async function issueRaw(sb: SandboxHandle, key: string, query = ""): Promise<string> {
    const res = await fetch(`${sb.url}/rest/api/3/issue/${key}${query}`, { headers: basic(sb) });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer()).toString("utf8").split(sb.url).join("URL");
  }

  async function pair(): Promise<{ plain: SandboxHandle; cached: SandboxHandle; clock: { now: number } }> {
    const clock = { now: FIXED_NOW };
    const plain = await sandbox({ now: () => clock.now, seed: 3 });
    const cached = await sandbox({ now: () => clock.now, seed: 3, renderCache: true });
    return { plain, cached, clock };
  }

  const FIELD_SETS: [string, string[]][] = [
    ["pmsync", PMSYNC_FIELDS],
    ["*all", ["*all"]],
    ["some, with exclusions", ["*navigable", "-description", "subtasks", "issuelinks"]],
  ];

  async function expectSame(plain: SandboxHandle, cached: SandboxHandle): Promise<void> {
    for (const [label, fields] of FIELD_SETS) expect(await pullRaw(cached, fields), label).toBe(await pullRaw(plain, fields));
  }

  it("serves byte-identical responses to renderCache off, cold, warm and on repeat", async () => {
    const { plain, cached } = await pair();
    expect(cached.control.stats().renderCache).toMatchObject({ entries: 0, hits: 0, misses: 0 });
    await expectSame(plain, cached); // cold: rendered and stored
    await expectSame(plain, cached); // from the cache
    expect(cached.control.stats().renderCache?.hits).toBeGreaterThanOrEqual(300 * FIELD_SETS.length);
    expect(await pullRaw(cached, PMSYNC_FIELDS, "names,schema")).toBe(await pullRaw(plain, PMSYNC_FIELDS, "names,schema"));
    for (const key of ["ENG-1", "OPS-7", "WEB-3"]) {
      for (const q of ["", "?fields=summary,parent,subtasks", "?expand=names,schema", `?fields=${PMSYNC_FIELDS.join(",")}&expand=names`]) {
        expect(await issueRaw(cached, key, q), key + q).toBe(await issueRaw(plain, key, q));
        expect(await issueRaw(cached, key, q), key + q).toBe(await issueRaw(plain, key, q));
      }
    }
    // ids-only pages are not cached (nothing to save) and stay identical
    expect(await pullRaw(cached, ["id"])).toBe(await pullRaw(plain, ["id"]));
    expect(await pullRaw(cached, ["key"])).toBe(await pullRaw(plain, ["key"]));
  });

  it("never serves stale JSON after touch, touchVolatile, setIssueUpdated, remove, create, or a parent's edit", async () => {
    const { plain, cached, clock } = await pair();
    const both = <T>(f: (sb: SandboxHandle) => T): [T, T] => [f(plain), f(cached)];
    await expectSame(plain, cached);
    expect(cached.control.warmRenderCache(["*all"]).issues).toBe(300);

    const issues = (JSON.parse(`[${(await pullRaw(plain, ["*all"])).split("\n").map((p) => ((JSON.parse(p) as SearchPage).issues.map((i) => JSON.stringify(i))).join(",")).join(",")}]`)) as Json[];
    const fieldsOf = (i: Json): Json => i["fields"] as Json;
    const sub = issues.find((i) => (fieldsOf(i)["issuetype"] as Json)["subtask"] === true && fieldsOf(i)["parent"]);
    const epicChild = issues.find((i) => (fieldsOf(i)["issuetype"] as Json)["subtask"] === false && fieldsOf(i)["parent"]);
    expect(sub && epicChild).toBeTruthy();
    const subKey = String(sub!["key"]);
    const parentKey = String((fieldsOf(sub!)["parent"] as Json)["key"]);
    const epicKey = String((fieldsOf(epicChild!)["parent"] as Json)["key"]);
    const fieldsOfKey = async (sb: SandboxHandle, key: string): Promise<Json> => fieldsOf(JSON.parse(await issueRaw(sb, key)) as Json);

    // touch: the issue itself
    clock.now += 60_000;
    const beforeTouch = await fieldsOfKey(cached, "ENG-5");
    expect(both((sb) => sb.control.touch({ keys: ["ENG-5"] }))).toEqual([["ENG-5"], ["ENG-5"]]);
    expect(await fieldsOfKey(cached, "ENG-5")).not.toEqual(beforeTouch);
    await expectSame(plain, cached);

    // touch by count
    clock.now += 60_000;
    both((sb) => sb.control.touch({ count: 20 }));
    await expectSame(plain, cached);

    // touchVolatile: lastViewed and watches only
    clock.now += 60_000;
    const beforeView = await fieldsOfKey(cached, "OPS-4");
    both((sb) => sb.control.touchVolatile({ keys: ["OPS-4"] }));
    const afterView = await fieldsOfKey(cached, "OPS-4");
    expect(Date.parse(String(afterView["lastViewed"]))).toBe(clock.now);
    expect((afterView["watches"] as Json)["watchCount"]).toBe(((beforeView["watches"] as Json)["watchCount"] as number) + 1);
    await expectSame(plain, cached);

    // a parent's edit shows in its sub-task's (and an epic's child's) embedded `parent`
    for (const [child, par] of [[subKey, parentKey], [String(epicChild!["key"]), epicKey]] as const) {
      const embedded = async (): Promise<string> => JSON.stringify((fieldsOf(JSON.parse(await issueRaw(cached, child)) as Json)["parent"] as Json)["fields"]);
      const first = await embedded();
      let changed = false;
      for (let k = 0; k < 10 && !changed; k++) {
        clock.now += 60_000;
        both((sb) => sb.control.touch({ keys: [par] }));
        changed = (await embedded()) !== first;
        expect(await issueRaw(cached, child)).toBe(await issueRaw(plain, child));
      }
      expect(changed, `${par}'s edit visible in ${child}`).toBe(true);
      await expectSame(plain, cached);
    }

    // setIssueUpdated
    both((sb) => sb.control.setIssueUpdated("WEB-2", FIXED_NOW - 5 * 86_400_000));
    expect((await fieldsOfKey(cached, "WEB-2"))["updated"]).toBe((await fieldsOfKey(plain, "WEB-2"))["updated"]);
    await expectSame(plain, cached);

    // remove: a sub-task (its parent's `subtasks` shrinks), an epic (children lose `parent`), by count
    both((sb) => sb.control.remove({ keys: [subKey] }));
    expect(JSON.stringify((await fieldsOfKey(cached, parentKey))["subtasks"])).not.toContain(`"key":"${subKey}"`);
    both((sb) => sb.control.remove({ keys: [epicKey] }));
    expect((await fieldsOfKey(cached, String(epicChild!["key"])))["parent"]).toBeUndefined();
    both((sb) => sb.control.remove({ count: 5 }));
    await expectSame(plain, cached);
    const res = await fetch(`${cached.url}/rest/api/3/issue/${subKey}`, { headers: basic(cached) });
    expect(res.status).toBe(404);

    // create: new sub-tasks appear in their parents' `subtasks`
    clock.now += 60_000;
    const [madeA, madeB] = both((sb) => sb.control.create({ count: 40 }));
    expect(madeB).toEqual(madeA);
    await expectSame(plain, cached);
    expect(cached.control.warmRenderCache().issues).toBe(cached.control.issueCount());
    await expectSame(plain, cached);
  });

  it("warm renders every live issue for pmsync's field set, which pmsync's searches then hit in any order", async () => {
    const sb = await sandbox({ renderCache: true });
    sb.control.remove({ count: 4 });
    const w = sb.control.warmRenderCache();
    expect(w.issues).toBe(296);
    expect(w.issues).toBe(sb.control.issueCount());
    expect(w.ms).toBeGreaterThanOrEqual(0);
    expect(sb.control.stats().renderCache).toMatchObject({ tables: 1, entries: 296, misses: 296 });
    expect(w.bytes).toBe(sb.control.stats().renderCache?.bytes);

    sb.control.resetStats();
    await pullRaw(sb, PMSYNC_FIELDS);
    await pullRaw(sb, [...PMSYNC_FIELDS].reverse().concat("summary"));
    expect(sb.control.stats().renderCache).toMatchObject({ tables: 1, hits: 2 * 296, misses: 0 });

    // over HTTP; without fields, the last search's field set is warmed
    await search(sb, { jql: FULL_JQL, fields: ["summary", "status"], maxResults: 1 });
    const res = await fetch(`${sb.url}/_sandbox/warm`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ issues: 296, ms: expect.any(Number) });
    sb.control.resetStats();
    await pullRaw(sb, ["status", "summary"]);
    expect(sb.control.stats().renderCache).toMatchObject({ tables: 2, hits: 296, misses: 0 });
    const explicit = await fetch(`${sb.url}/_sandbox/warm`, { method: "POST", body: JSON.stringify({ fields: ["*all"] }) });
    expect(((await explicit.json()) as Json)["issues"]).toBe(296);
    expect(sb.control.stats().renderCache?.tables).toBe(3);

    // a bounded number of field sets is kept
    for (const f of ["summary", "status", "labels", "assignee", "priority"]) await search(sb, { jql: FULL_JQL, fields: [f], maxResults: 5 });
    expect(sb.control.stats().renderCache?.tables).toBeLessThanOrEqual(4);

    const bad = await fetch(`${sb.url}/_sandbox/warm`, { method: "POST", body: JSON.stringify({ fields: "summary" }) });
    expect(bad.status).toBe(400);
    const off = await sandbox();
    expect(() => off.control.warmRenderCache()).toThrow(/renderCache/);
    expect((await fetch(`${off.url}/_sandbox/warm`, { method: "POST", body: "{}" })).status).toBe(400);
    expect(off.control.stats().renderCache).toBeUndefined();
  });
});
