// The sandbox's write side over real HTTP, in Jira Cloud REST v3's wire format: PUT issue
// (fields and update, 204, Jira's 400/404 bodies), workflow transitions, editmeta, user and
// priority look-ups, and that every write moves `updated` and shows in searches at once.

import { afterEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxHandle, type SandboxOptions } from "../../src/sandbox/index.js";

const START = Date.UTC(2026, 10, 1, 9, 0, 0);
const open: SandboxHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function sandbox(opts: SandboxOptions = {}): Promise<SandboxHandle> {
  const sb = await startSandbox({ issues: 120, clock: { startMs: START, stepMs: 1000 }, ...opts });
  open.push(sb);
  return sb;
}

type Json = Record<string, unknown>;

async function call(sb: SandboxHandle, method: string, path: string, body?: unknown, raw?: string): Promise<{ status: number; json: Json | null; text: string }> {
  const headers: Record<string, string> = { authorization: "Basic " + Buffer.from(`${sb.email}:${sb.apiToken}`).toString("base64") };
  if (body !== undefined || raw !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${sb.url}/rest/api/3/${path}`, { method, headers, ...(body !== undefined || raw !== undefined ? { body: raw ?? JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Json) : null, text };
}

const fieldsOf = (issue: Json | null): Json => (issue?.["fields"] ?? {}) as Json;
const nameOf = (v: unknown): unknown => (v as Json | null)?.["name"] ?? null;

async function issue(sb: SandboxHandle, key: string, fields = "*all"): Promise<Json> {
  const r = await call(sb, "GET", `issue/${key}?fields=${fields}`);
  expect(r.status).toBe(200);
  return fieldsOf(r.json);
}

/** A live issue in `status` (by name), found through a search. */
async function keyInStatus(sb: SandboxHandle, status: string): Promise<string> {
  const r = await call(sb, "POST", "search/jql", { jql: 'created >= "1970-01-01"', fields: ["status"], maxResults: 100 });
  const hit = (r.json?.["issues"] as Json[]).find((i) => nameOf(fieldsOf(i)["status"]) === status);
  if (!hit) throw new Error(`no issue in ${status}`);
  return String(hit["key"]);
}

describe("sandbox writes: PUT /rest/api/3/issue/{key}", () => {
  it("edits fields, answers 204 with no body, and moves updated to the clock", async () => {
    const sb = await sandbox();
    const key = await keyInStatus(sb, "To Do");
    const doc = { type: "doc", version: 1, content: [{ type: "paragraph", content: [{ type: "text", text: "New body" }] }] };
    const users = await call(sb, "GET", `user/assignable/search?issueKey=${key}&query=kenji`);
    const kenji = String((users.json as unknown as Json[])[0]?.["accountId"]);
    const r = await call(sb, "PUT", `issue/${key}`, {
      fields: { summary: "Edited over REST", description: doc, priority: { id: "2" }, assignee: { accountId: kenji }, labels: ["a", "b"], duedate: "2027-01-31", customfield_10016: 5 },
    });
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
    const f = await issue(sb, key);
    expect(f["summary"]).toBe("Edited over REST");
    expect(f["description"]).toEqual(doc);
    expect(nameOf(f["priority"])).toBe("High");
    expect((f["assignee"] as Json)["displayName"]).toBe("Kenji Watanabe");
    expect(f["labels"]).toEqual(["a", "b"]);
    expect(f["duedate"]).toBe("2027-01-31");
    expect(f["customfield_10016"]).toBe(5);
    expect(Date.parse(String(f["updated"]))).toBe(START + 1000);
    expect(sb.control.maxUpdatedMs()).toBe(START + 1000);

    // priority by name, clearing assignee and due date; the clock moves one step per write
    expect((await call(sb, "PUT", `issue/${key}`, { fields: { priority: { name: "Lowest" }, assignee: null, duedate: null } })).status).toBe(204);
    const g = await issue(sb, key);
    expect([nameOf(g["priority"]), g["assignee"], g["duedate"]]).toEqual(["Lowest", null, null]);
    expect(Date.parse(String(g["updated"]))).toBe(START + 2000);
  });

  it("ignores status in fields (transitions only) and moves nothing when nothing changes", async () => {
    const sb = await sandbox();
    const key = await keyInStatus(sb, "To Do");
    const before = await issue(sb, key);
    expect((await call(sb, "PUT", `issue/${key}`, { fields: { status: { name: "Done" } } })).status).toBe(204);
    expect((await call(sb, "PUT", `issue/${key}`, { fields: { summary: before["summary"], labels: before["labels"] } })).status).toBe(204);
    expect(await issue(sb, key)).toEqual(before);
  });

  it("takes update operations: labels add, remove and set; set for other fields", async () => {
    const sb = await sandbox();
    const key = "ENG-3";
    await call(sb, "PUT", `issue/${key}`, { fields: { labels: ["one", "two"] } });
    expect((await call(sb, "PUT", `issue/${key}`, { update: { labels: [{ add: "three" }, { remove: "one" }], summary: [{ set: "Via update" }] } })).status).toBe(204);
    let f = await issue(sb, key, "labels,summary");
    expect(f).toEqual({ labels: ["two", "three"], summary: "Via update" });
    await call(sb, "PUT", `issue/${key}`, { update: { labels: [{ set: ["only"] }] } });
    f = await issue(sb, key, "labels");
    expect(f["labels"]).toEqual(["only"]);
    const both = await call(sb, "PUT", `issue/${key}`, { fields: { labels: [] }, update: { labels: [{ add: "x" }] } });
    expect(both.status).toBe(400);
    expect((both.json?.["errors"] as Json)["labels"]).toMatch(/both 'fields' and 'update'/);
  });

  it("refuses bad values with Jira's 400 body, all or nothing", async () => {
    const sb = await sandbox();
    const key = "ENG-4";
    const before = await issue(sb, key);
    const bad = await call(sb, "PUT", `issue/${key}`, {
      fields: { summary: "would change", priority: { id: "99" }, duedate: "2027-02-30", assignee: { accountId: "nobody" }, description: "plain text", labels: ["has space"], created: "2020-01-01" },
    });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({
      errorMessages: [],
      errors: {
        priority: "The priority selected is invalid.",
        duedate: "Error parsing date string: 2027-02-30",
        assignee: "User 'nobody' cannot be assigned issues.",
        description: "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
        labels: "The label 'has space' contains spaces which is invalid.",
        created: "Field 'created' cannot be set. It is not on the appropriate screen, or unknown.",
      },
    });
    expect(await issue(sb, key)).toEqual(before);

    expect((await call(sb, "PUT", `issue/${key}`, { fields: { summary: "" } })).json?.["errors"]).toEqual({ summary: "You must specify a summary of the issue." });
    const notJson = await call(sb, "PUT", `issue/${key}`, undefined, "{oops");
    expect(notJson.status).toBe(400);
    expect(notJson.json).toEqual({ errorMessages: ["Invalid request payload. Refer to the REST API documentation and try again."], errors: {} });
    // A document that is not ADF (no version, empty text node) is refused too.
    expect((await call(sb, "PUT", `issue/${key}`, { fields: { description: { type: "doc", content: [] } } })).status).toBe(400);
    const emptyText = { type: "doc", version: 1, content: [{ type: "paragraph", content: [{ type: "text", text: "" }] }] };
    expect((await call(sb, "PUT", `issue/${key}`, { fields: { description: emptyText } })).status).toBe(400);
  });

  it("knows which story points field each project's screen has (editmeta)", async () => {
    const sb = await sandbox();
    // ENG is company-managed (both fields), OPS team-managed ("Story point estimate" only).
    const eng = (await call(sb, "GET", "issue/ENG-2/editmeta")).json?.["fields"] as Json;
    const ops = (await call(sb, "GET", "issue/OPS-2/editmeta")).json?.["fields"] as Json;
    expect(Object.keys(eng)).toEqual(["summary", "description", "priority", "assignee", "labels", "duedate", "customfield_10016", "customfield_10026"]);
    expect(Object.keys(ops)).not.toContain("customfield_10026");
    expect((eng["labels"] as Json)["operations"]).toEqual(["add", "set", "remove"]);
    expect(((eng["priority"] as Json)["allowedValues"] as Json[]).map(nameOf)).toEqual(["Highest", "High", "Medium", "Low", "Lowest"]);
    const r = await call(sb, "PUT", "issue/OPS-2", { fields: { customfield_10026: 3 } });
    expect(r.json).toEqual({ errorMessages: [], errors: { customfield_10026: "Field 'customfield_10026' cannot be set. It is not on the appropriate screen, or unknown." } });
    expect((await call(sb, "PUT", "issue/ENG-2", { fields: { customfield_10026: 3 } })).status).toBe(204);
    const f = await issue(sb, "ENG-2", "customfield_10016,customfield_10026");
    expect(f).toEqual({ customfield_10016: 3, customfield_10026: 3 });
  });

  it("answers 404 with Jira's body for unknown and deleted issues", async () => {
    const sb = await sandbox();
    const gone = { errorMessages: ["Issue does not exist or you do not have permission to see it."], errors: {} };
    expect(await call(sb, "PUT", "issue/ENG-9999", { fields: { summary: "x" } })).toMatchObject({ status: 404, json: gone });
    sb.control.remove({ keys: ["ENG-5"] });
    expect(await call(sb, "GET", "issue/ENG-5")).toMatchObject({ status: 404, json: gone });
    expect(await call(sb, "GET", "issue/ENG-5/transitions")).toMatchObject({ status: 404, json: gone });
    expect(await call(sb, "POST", "issue/ENG-5/transitions", { transition: { id: "11" } })).toMatchObject({ status: 404, json: gone });
    // Gone from search too; naming it in JQL is an error there, as in Jira.
    const r = await call(sb, "POST", "search/jql", { jql: "key = ENG-5", fields: ["key"] });
    expect(r).toMatchObject({ status: 400, json: { errorMessages: ["An issue with key 'ENG-5' does not exist for field 'key'."] } });
    const all = await call(sb, "POST", "search/jql", { jql: "project = ENG", fields: ["key"], maxResults: 5000 });
    expect((all.json?.["issues"] as Json[]).map((i) => i["key"])).not.toContain("ENG-5");
  });

  it("keeps searches consistent: the edited issue sorts last by updated and is found by an incremental window", async () => {
    for (const renderCache of [false, true]) {
      const sb = await sandbox({ renderCache });
      const q = { jql: `updated >= ${START - 60_000} ORDER BY updated ASC`, fields: ["summary", "updated"], maxResults: 100 };
      expect((await call(sb, "POST", "search/jql", q)).json?.["issues"]).toEqual([]);
      // warm the cache with the old rendering, then write
      await call(sb, "POST", "search/jql", { jql: 'created >= "1970-01-01"', fields: ["summary", "updated"], maxResults: 100 });
      await call(sb, "PUT", "issue/OPS-7", { fields: { summary: "Fresh" } });
      const hits = (await call(sb, "POST", "search/jql", q)).json?.["issues"] as Json[];
      expect(hits.map((i) => [i["key"], fieldsOf(i)["summary"]])).toEqual([["OPS-7", "Fresh"]]);
      const newest = (await call(sb, "POST", "search/jql", { jql: 'created >= "1970-01-01" ORDER BY updated DESC', fields: ["summary"], maxResults: 1 })).json?.["issues"] as Json[];
      expect(newest.map((i) => [i["key"], fieldsOf(i)["summary"]])).toEqual([["OPS-7", "Fresh"]]);
      const page = (await call(sb, "POST", "search/jql", { jql: "key = OPS-7", fields: ["summary"] })).json?.["issues"] as Json[];
      expect(fieldsOf(page[0] ?? null)["summary"]).toBe("Fresh");
    }
  });
});

describe("sandbox writes: transitions", () => {
  it("lists the transitions from the current status with Jira's shape", async () => {
    const sb = await sandbox();
    const key = await keyInStatus(sb, "To Do");
    const r = await call(sb, "GET", `issue/${key}/transitions`);
    expect(r.status).toBe(200);
    expect(r.json?.["expand"]).toBe("transitions");
    const ts = r.json?.["transitions"] as Json[];
    expect(ts.map((t) => [t["id"], t["name"], nameOf(t["to"])])).toEqual([
      ["11", "Start progress", "In Progress"],
      ["41", "Won't do", "Won't Do"],
    ]);
    expect(ts[0]).toMatchObject({ isAvailable: true, isGlobal: false, to: { id: "3", statusCategory: { key: "indeterminate" } } });
    const one = await call(sb, "GET", `issue/${key}/transitions?transitionId=41&expand=transitions.fields`);
    const only = (one.json?.["transitions"] as Json[])[0] as Json;
    expect(only["id"]).toBe("41");
    expect(Object.keys(only["fields"] as Json)).toEqual(["resolution"]);
  });

  it("moves the issue along the workflow (204), setting and clearing the resolution", async () => {
    const sb = await sandbox();
    const key = await keyInStatus(sb, "To Do");
    const post = (id: string, extra: Json = {}) => call(sb, "POST", `issue/${key}/transitions`, { transition: { id }, ...extra });
    expect((await post("11")).status).toBe(204);
    let f = await issue(sb, key, "status,resolution,resolutiondate,updated");
    expect([nameOf(f["status"]), f["resolution"], f["resolutiondate"]]).toEqual(["In Progress", null, null]);
    expect(Date.parse(String(f["updated"]))).toBe(START + 1000);
    expect((await post("31", { fields: { resolution: { name: "Duplicate" } } })).status).toBe(204);
    f = await issue(sb, key, "status,resolution,resolutiondate,updated,statuscategorychangedate");
    expect([nameOf(f["status"]), nameOf(f["resolution"])]).toEqual(["Done", "Duplicate"]);
    expect(f["resolutiondate"]).toBe(f["updated"]);
    expect(f["statuscategorychangedate"]).toBe(f["updated"]);
    expect((await post("71")).status).toBe(204);
    f = await issue(sb, key, "status,resolution,resolutiondate");
    expect([nameOf(f["status"]), f["resolution"], f["resolutiondate"]]).toEqual(["In Progress", null, null]);
  });

  it("refuses a transition that is not available, or none at all, with 400", async () => {
    const sb = await sandbox();
    const key = await keyInStatus(sb, "To Do");
    const before = await issue(sb, key);
    expect(await call(sb, "POST", `issue/${key}/transitions`, { transition: { id: "31" } })).toMatchObject({
      status: 400,
      json: { errorMessages: ["Transition id '31' is not valid for this issue."], errors: {} },
    });
    expect(await call(sb, "POST", `issue/${key}/transitions`, {})).toMatchObject({ status: 400, json: { errorMessages: ["Missing 'transition' identifier"], errors: {} } });
    expect((await call(sb, "POST", `issue/${key}/transitions`, { transition: { id: "11" }, fields: { resolution: { name: "Done" } } })).json?.["errors"]).toEqual({
      resolution: "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown.",
    });
    expect(await issue(sb, key)).toEqual(before);
  });
});

describe("sandbox writes: look-ups", () => {
  it("finds assignable people by name, word, email or account id; deactivated people are not assignable", async () => {
    const sb = await sandbox();
    const find = async (q: string) => ((await call(sb, "GET", `user/assignable/search?issueKey=ENG-1&${q}`)).json as unknown as Json[]).map((u) => u["displayName"]);
    expect(await find("query=Priya%20Raman")).toEqual(["Priya Raman"]);
    expect(await find("query=raman")).toEqual(["Priya Raman"]);
    expect(await find("query=lukas.muller%40example.com")).toEqual(["Lukas Müller"]);
    expect(await find("query=bj")).toEqual([]);
    const u = ((await call(sb, "GET", "user/search?query=bj")).json as unknown as Json[])[0] as Json;
    expect(u).toMatchObject({ displayName: "Björn Lindqvist", active: false, emailAddress: "bjorn.lindqvist@example.com" });
    const me = ((await call(sb, "GET", "user/assignable/search?project=ENG&query=ana")).json as unknown as Json[])[0] as Json;
    expect(me["emailAddress"]).toBe(sb.email);
    expect(await find(`accountId=${encodeURIComponent(String(me["accountId"]))}`)).toEqual(["Ana Lima"]);
    expect((await call(sb, "GET", "user/assignable/search?query=ana")).status).toBe(400);
    expect((await call(sb, "GET", "user/assignable/search?issueKey=ENG-9999&query=ana")).status).toBe(404);
  });

  it("lists priorities (plain and paged)", async () => {
    const sb = await sandbox();
    expect(((await call(sb, "GET", "priority")).json as unknown as Json[]).map(nameOf)).toEqual(["Highest", "High", "Medium", "Low", "Lowest"]);
    const page = (await call(sb, "GET", "priority/search?maxResults=2")).json as Json;
    expect(page).toMatchObject({ startAt: 0, maxResults: 2, total: 5, isLast: false });
    expect((page["values"] as Json[]).map(nameOf)).toEqual(["Highest", "High"]);
  });
});

describe("sandbox writes: control API", () => {
  it("edit sets fields as a person would, at the clock or an exact instant; populate adds issues with a history", async () => {
    const sb = await sandbox({ issues: 0, projects: ["ENG", "OPS", "WEB"] });
    const keys = sb.control.populate({ count: 40, projects: ["OPS"] });
    expect(keys).toHaveLength(40);
    expect(keys.every((k) => k.startsWith("OPS-"))).toBe(true);
    const statuses = new Set(keys.map((k) => nameOf(((sb.control.getIssue(k) as Json)["fields"] as Json)["status"])));
    expect(statuses.size).toBeGreaterThan(1);
    const max = sb.control.maxUpdatedMs();
    expect(max).toBeLessThan(START);
    expect(sb.control.edit(keys[0]!, { summary: "At the boundary" }, max)).toBe(true);
    expect(Date.parse(String(((sb.control.getIssue(keys[0]!) as Json)["fields"] as Json)["updated"]))).toBe(max);
    expect(sb.control.edit(keys[1]!, { fields: { summary: "Later" } })).toBe(true);
    expect(sb.control.maxUpdatedMs()).toBe(START + 1000);
    expect(sb.control.edit(keys[1]!, { summary: "Later" })).toBe(false);
    expect(() => sb.control.edit(keys[1]!, { duedate: "soon" })).toThrow(/duedate: Error parsing date string: soon/);
    expect(() => sb.control.edit("OPS-999", { summary: "x" })).toThrow(RangeError);
    const over = await fetch(`${sb.url}/_sandbox/edit`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ key: keys[2], fields: { summary: "Over HTTP" } }) });
    expect(await over.json()).toEqual({ changed: true });
    expect(sb.control.stats().requests).toBe(0);
  });
});
