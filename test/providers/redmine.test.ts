// The Redmine provider against its fake: the provider contract, then what is Redmine's own
// (closed issues, offset paging under concurrent edits, custom fields, non-admin accounts,
// project scope, writes that Redmine drops silently).

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loginFake, providerContract, providerFor } from "../contract/contract.js";
import { RemoteError, UsageError } from "../../src/errors.js";
import { normaliseRedmineProject } from "../../src/providers/redmine/auth.js";
import { startFake, startRedmineFake, type RedmineFake } from "../../src/providers/redmine/fake.js";
import { nextPosition, redmineTime } from "../../src/providers/redmine/index.js";
import { statusCategory } from "../../src/providers/redmine/normalise.js";
import { runCli, query, scalar, syncJson, tempHome } from "../helpers/cli.js";

providerContract(startFake);

describe("redmine pieces", () => {
  it("status categories: is_closed first, then the name", () => {
    expect(statusCategory("New", false)).toBe("todo");
    expect(statusCategory("Feedback", false)).toBe("in_progress");
    expect(statusCategory("Resolved", false)).toBe("in_progress");
    expect(statusCategory("Closed", true)).toBe("done");
    expect(statusCategory("Rejected", true)).toBe("cancelled");
    expect(statusCategory("Won't fix", true)).toBe("cancelled");
    expect(statusCategory("Duplicate", true)).toBe("cancelled");
    expect(statusCategory("Odd", null)).toBeNull();
  });

  it("project identifiers", () => {
    expect(normaliseRedmineProject(" Test-Project ")).toBe("test-project");
    expect(normaliseRedmineProject("a_b-1")).toBe("a_b-1");
    for (const bad of ["has space", "123", "dots.are.not", ""]) expect(() => normaliseRedmineProject(bad)).toThrow(UsageError);
  });

  it("keyset paging positions", () => {
    const at = (...times: string[]) => times.map((t, i) => ({ id: i + 1, updated_on: `2026-11-01T09:00:${t}Z` }));
    const ms = (t: string) => Date.parse(`2026-11-01T09:00:${t}Z`);
    expect(redmineTime(ms("07") + 999)).toBe("2026-11-01T09:00:07Z");
    // The key moves to the last second; its issues already read are skipped (less the overlap).
    expect(nextPosition(at("01", "02", "02"), null, 0, 100, true)).toEqual({ key: ms("02"), offset: 0 });
    expect(nextPosition(at(...Array<string>(10).fill("05")), ms("01"), 0, 10, true)).toEqual({ key: ms("05"), offset: 5 });
    // A page entirely inside the key's second advances by offset, with overlap while it brings news.
    expect(nextPosition(at(...Array<string>(10).fill("05")), ms("05"), 5, 10, true)).toEqual({ key: ms("05"), offset: 10 });
    expect(nextPosition(at(...Array<string>(10).fill("05")), ms("05"), 5, 10, false)).toEqual({ key: ms("05"), offset: 15 });
  });
});

describe("redmine specifics", () => {
  let fake: RedmineFake;
  let home: string;

  beforeEach(async () => {
    fake = await startRedmineFake();
    home = tempHome();
  });
  afterEach(async () => {
    await fake.close();
  });

  const rows = () => query<{ key: string; title: string; status: string; status_category: string; project: string; resolved_at: string | null; story_points: number | null }>(
    home,
    "SELECT key, title, status, status_category, project, resolved_at, story_points FROM issues WHERE deleted_at IS NULL",
  );
  const api = async (path: string) => (await fetch(`${fake.url}${path}`, { headers: { "x-redmine-api-key": fake.token } })).json() as Promise<any>;

  it("syncs closed issues too (status_id=* on every list request) and maps Redmine statuses to categories", async () => {
    const keys = fake.seed(60);
    // The fake is faithful: without status_id Redmine lists open issues only.
    const openOnly = await api("/issues.json?limit=100");
    expect(openOnly.total_count).toBeLessThan(60);
    await loginFake(home, fake);
    const mine = fake.issueQueries.length;
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0]).toMatchObject({ status: "ok", pulled: 60, created: 60 });
    expect(new Set(rows().map((r) => r.key))).toEqual(new Set(keys));
    expect(fake.issueQueries.length).toBeGreaterThan(mine);
    for (const q of fake.issueQueries.slice(mine)) expect(q.get("status_id")).toBe("*");
    const expected: Record<string, string> = { New: "todo", "In Progress": "in_progress", Resolved: "in_progress", Feedback: "in_progress", Closed: "done", Rejected: "cancelled" };
    const seen = new Set<string>();
    for (const r of rows()) {
      expect(r.status_category, r.status).toBe(expected[r.status]);
      seen.add(r.status);
      // Only closed issues are resolved (closed_on survives a reopen in Redmine).
      expect(r.resolved_at !== null, r.key).toBe(r.status === "Closed" || r.status === "Rejected");
    }
    expect(seen).toEqual(new Set(Object.keys(expected)));
  });

  it("an issue updated during a full pull is neither skipped nor written twice", async () => {
    const keys = fake.seed(230);
    // Sorted by updated_on, the first issue of page 1 moves to the end when it is edited.
    const first = (await api("/issues.json?status_id=*&sort=updated_on&limit=1")).issues[0].id as number;
    const edit = (n: number) => {
      if (n === 1) fake.editTitle(`#${first}`, "moved during the pull");
    };

    // What plain `offset += 100` paging would get: one issue slips past the page boundary.
    fake.onIssuesPage(edit);
    const naive = new Set<number>();
    for (let offset = 0; offset < 230; offset += 100) {
      for (const i of (await api(`/issues.json?status_id=*&sort=updated_on&limit=100&offset=${offset}`)).issues) naive.add(i.id);
    }
    expect(naive.size).toBe(229);

    // pmsync, on a fresh fake with the same edit during its pull.
    await fake.close();
    fake = await startRedmineFake();
    expect(fake.seed(230)).toEqual(keys);
    fake.onIssuesPage(edit);
    await loginFake(home, fake);
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code, result.stderr).toBe(0);
    const got = rows();
    expect(got).toHaveLength(230);
    expect(new Set(got.map((r) => r.key))).toEqual(new Set(keys));
    expect(got.find((r) => r.key === `#${first}`)!.title).toBe("moved during the pull");
    // The old version, then the new one met again at the end: one create, one update, no other write.
    expect(report.runs[0]).toMatchObject({ status: "ok", pulled: 231, created: 230, updated: 1 });
    expect(scalar<number>(home, "SELECT count(*) FROM issue_changes")).toBe(1);
  });

  it("a pull that fails after its first page resumes from the committed cursor: nothing lost", async () => {
    const keys = fake.seed(230);
    fake.onIssuesPage((n) => {
      if (n === 1) fake.fail("malformed", 2); // the second page fails twice: the run stops there
    });
    await loginFake(home, fake);
    const first = await syncJson(home, ["--full"]);
    expect(first.result.code).toBe(1);
    expect(rows()).toHaveLength(100);
    fake.onIssuesPage(null);
    const { result, report } = await syncJson(home);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0].mode).toBe("incremental");
    expect(new Set(rows().map((r) => r.key))).toEqual(new Set(keys));
  });

  it("pages through a bulk edit (many issues in one updated_on second) while one of them changes", async () => {
    const keys = fake.seed(230);
    const bulk = keys.slice(0, 150);
    fake.setUpdated(bulk, Date.UTC(2026, 9, 30, 12, 0, 0));
    fake.onIssuesPage((n) => {
      if (n === 1) fake.editTitle(bulk[149]!, "edited inside the bulk second");
    });
    await loginFake(home, fake);
    const { result } = await syncJson(home, ["--full"]);
    expect(result.code, result.stderr).toBe(0);
    const got = rows();
    expect(new Set(got.map((r) => r.key))).toEqual(new Set(keys));
    expect(got.find((r) => r.key === bulk[149])!.title).toBe("edited inside the bulk second");
    // Inside one second the pager pages by offset from that second on.
    const q = fake.issueQueries;
    expect(q.some((p) => p.get("updated_on") === ">=2026-10-30T12:00:00Z" && Number(p.get("offset")) > 0)).toBe(true);
  });

  it("incremental pulls send updated_on>= at whole seconds; the scope includes subprojects, not other projects", async () => {
    fake.seed(40);
    const others = fake.addIssues("other-project", 3);
    await loginFake(home, fake);
    expect((await syncJson(home, ["--full"])).result.code).toBe(0);
    const projects = new Set(rows().map((r) => r.project));
    expect(projects).toEqual(new Set(["test-project", "test-sub"]));
    expect(rows().some((r) => others.includes(r.key))).toBe(false);

    fake.editTitle("#3", "changed");
    const before = fake.issueQueries.length;
    const { result, report } = await syncJson(home, ["--incremental"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0]).toMatchObject({ mode: "incremental", updated: 1, created: 0 });
    const q = fake.issueQueries[before]!;
    expect(q.get("updated_on")).toMatch(/^>=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(q.get("project_id")).toBe("test-project");
  });

  it("several projects are pulled in one list (long filter form with their ids and subprojects')", async () => {
    const mine = fake.seed(20);
    const others = fake.addIssues("other-project", 5);
    await loginFake(home, fake, ["--project", "other-project"]);
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0].pulled).toBe(25);
    expect(new Set(rows().map((r) => r.key))).toEqual(new Set([...mine, ...others]));
    const q = fake.issueQueries[0]!;
    expect(q.getAll("v[project_id][]")).toEqual(["1", "2", "3"]);
    expect(q.get("op[status_id]")).toBe("*");
  });

  it("custom fields land in field_catalog; a numeric Story Points field fills story_points; value changes reach the change log", async () => {
    const keys = fake.seed(30);
    await loginFake(home, fake);
    expect((await syncJson(home, ["--full"])).result.code).toBe(0);
    const catalog = query<{ source_id: string; name: string; type: string; custom: number }>(home, "SELECT source_id, name, type, custom FROM field_catalog ORDER BY source_id");
    expect(catalog.filter((f) => f.custom === 1)).toEqual([
      { source_id: "custom_fields.1", name: "Customer Ref", type: "string", custom: 1 },
      { source_id: "custom_fields.2", name: "Story Points", type: "number", custom: 1 },
      { source_id: "custom_fields.3", name: "Platforms", type: "array<string>", custom: 1 },
    ]);
    expect(catalog.map((f) => f.source_id)).toEqual(expect.arrayContaining(["subject", "status", "assigned_to", "fixed_version", "due_date"]));
    for (const r of rows()) {
      const v = fake.customValue(r.key, 2);
      expect(r.story_points, r.key).toBe(typeof v === "string" ? Number(v) : null);
    }
    fake.setCustom(keys[4]!, 1, "CUST-NEW");
    expect((await syncJson(home, ["--incremental"])).result.code).toBe(0);
    const change = query<{ field: string; new_value: string }>(home, "SELECT field, new_value FROM issue_changes WHERE key = ?", keys[4]);
    expect(change).toEqual([{ field: "custom_fields.1", new_value: '"CUST-NEW"' }]);
  });

  it("a 403 on /custom_fields.json (not an admin) does not fail the sync: the catalog lists the custom fields issues carry", async () => {
    fake.seed(30);
    fake.setAdmin(false);
    await loginFake(home, fake);
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0]).toMatchObject({ status: "ok", pulled: 30 });
    const custom = query<{ source_id: string; name: string }>(home, "SELECT source_id, name FROM field_catalog WHERE custom = 1 ORDER BY source_id");
    expect(custom).toEqual([
      { source_id: "custom_fields.1", name: "Customer Ref" },
      { source_id: "custom_fields.2", name: "Story Points" },
      { source_id: "custom_fields.3", name: "Platforms" },
    ]);
  });

  it("login refuses a malformed project identifier and an unknown project fails the sync clearly", async () => {
    const bad = await runCli(["login", "redmine", "--site", fake.url, "--project", "Not An Identifier", "--token-stdin", "--insecure-storage"], { home, input: fake.token });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/project identifier/);
    await runCli(["login", "redmine", "--site", fake.url, "--project", "no-such-project", "--token-stdin", "--insecure-storage"], { home, input: fake.token });
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code).toBe(1);
    expect(report.runs[0].error).toMatch(/no project "no-such-project"/);
  });

  it("a Redmine whose REST API is off (403 on /users/current.json): login says how to enable it", async () => {
    fake.setRestApi(false);
    const r = await runCli(["login", "redmine", ...fake.loginArgs, "--token-stdin", "--insecure-storage"], { home, input: fake.token });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/REST API enabled\?/);
    expect(r.stderr).toMatch(/Enable REST web service/);
  });

  describe("writes", () => {
    it("labels are refused: Redmine issues have none", async () => {
      const keys = fake.seed(5);
      await loginFake(home, fake);
      const provider = providerFor(home, fake);
      expect(provider.editableFields.has("labels")).toBe(false);
      const current = (await provider.fetchIssue(keys[0]!))!;
      await expect(provider.writeIssue(current, [{ field: "labels", value: ["x"] }])).rejects.toThrow(/no labels/);
    });

    it("a status change the workflow drops (204, status unchanged) is a RemoteError naming the allowed statuses", async () => {
      const keys = fake.seed(5);
      await loginFake(home, fake);
      const provider = providerFor(home, fake);
      fake.denyStatus("Closed");
      const current = (await provider.fetchIssue(keys[1]!))!;
      const err = await provider.writeIssue(current, [{ field: "status", value: "Closed" }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as Error).message).toMatch(/did not apply the status change to "Closed" \(workflow permissions\?\).*may choose: New, In Progress/);
      expect(fake.view(keys[1]!)!.status).not.toBe("Closed");
    });

    it("Redmine's 422 messages become a RemoteError; assignees resolve by name, login or e-mail and clear with null", async () => {
      const keys = fake.seed(5);
      await loginFake(home, fake);
      const provider = providerFor(home, fake);
      let current = (await provider.fetchIssue(keys[2]!))!;
      const err = await provider.writeIssue(current, [{ field: "due_date", value: "2001-01-01" }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteError);
      expect((err as Error).message).toBe(`Redmine refused the change to ${keys[2]}: Due date must be greater than start date`);

      await provider.writeIssue(current, [{ field: "assignee", value: "grace" }]);
      expect(fake.view(keys[2]!)!.assignee).toBe("Grace Hopper");
      current = (await provider.fetchIssue(keys[2]!))!;
      await provider.writeIssue(current, [{ field: "assignee", value: "ada@example.net" }]);
      expect(fake.view(keys[2]!)!.assignee).toBe("Ada Lovelace");
      await provider.writeIssue(current, [{ field: "assignee", value: "Developers" }]);
      expect(fake.view(keys[2]!)!.assignee).toBe("Developers");
      // Linus exists but is not a member of the project: Redmine's own answer.
      await expect(provider.writeIssue(current, [{ field: "assignee", value: "linus" }])).rejects.toThrow(/Assignee is invalid/);
      await expect(provider.writeIssue(current, [{ field: "priority", value: "Whenever" }])).rejects.toThrow(UsageError);
      await provider.writeIssue(current, [{ field: "assignee", value: null }]);
      expect(fake.view(keys[2]!)!.assignee).toBeNull();
    });

    it("story points go to the Story Points custom field; fetchIssue takes #id and returns null when gone", async () => {
      const keys = fake.seed(5);
      await loginFake(home, fake);
      const provider = providerFor(home, fake);
      const current = (await provider.fetchIssue(keys[3]!))!;
      await provider.writeIssue(current, [{ field: "story_points", value: 13 }]);
      expect(fake.customValue(keys[3]!, 2)).toBe("13");
      expect((await provider.fetchIssue(keys[3]!))!.issue.story_points).toBe(13);
      expect(await provider.fetchIssue("#99999")).toBeNull();
      await expect(provider.fetchIssue("PROJ-1")).rejects.toBeInstanceOf(UsageError);
    });
  });
});
