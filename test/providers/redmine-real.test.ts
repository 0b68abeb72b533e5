// The Redmine provider against a REAL Redmine (5.0.4 from Debian, started by
// /work/shared/tools/redmine-up.sh; `bash test/providers/redmine-real.sh` does it all).
// Runs only when PMSYNC_TEST_REDMINE_URL and PMSYNC_TEST_REDMINE_KEY (an admin API key) are set;
// PMSYNC_TEST_REDMINE_PROJECT names the project (default test-project). Issues are created with
// unique subjects through the REST API, as a colleague would, and deleted again at the end.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { providerFor } from "../contract/contract.js";
import { RemoteError, UsageError } from "../../src/errors.js";
import type { FakeTracker } from "../../src/providers/fake.js";
import type { Provider } from "../../src/providers/provider.js";
import { query, runCli, scalar, syncJson } from "../helpers/cli.js";

const URL_ = process.env.PMSYNC_TEST_REDMINE_URL?.replace(/\/+$/, "");
const KEY = process.env.PMSYNC_TEST_REDMINE_KEY;
const PROJECT = process.env.PMSYNC_TEST_REDMINE_PROJECT ?? "test-project";
/** Enough for two pages plus a remainder (Redmine's limit is 100). */
const MANY = 130;

async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${URL_}${path}`, {
    method,
    headers: { "x-redmine-api-key": KEY!, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

describe.skipIf(!URL_ || !KEY)("redmine provider against a real Redmine", () => {
  const run = `pmsync-real-${Date.now().toString(36)}`;
  const created: number[] = [];
  let home: string;
  let provider: Provider;
  let closedStatus: { id: number; name: string };
  let trackerId: number;
  let projectTotal: () => Promise<number>;

  const createIssue = async (subject: string) => {
    const r = await rest("POST", "/issues.json", { issue: { project_id: PROJECT, tracker_id: trackerId, subject, description: `created by ${run}` } });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    created.push(r.json.issue.id);
    return r.json.issue.id as number;
  };
  const row = (id: number) =>
    query<{ title: string; status: string; status_category: string; resolved_at: string | null; deleted_at: string | null; project: string }>(
      home,
      "SELECT title, status, status_category, resolved_at, deleted_at, project FROM issues WHERE key = ?",
      `#${id}`,
    )[0];

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "pmsync-redmine-real-"));
    const statuses = (await rest("GET", "/issue_statuses.json")).json.issue_statuses as { id: number; name: string; is_closed: boolean }[];
    closedStatus = statuses.find((s) => s.is_closed && !/reject/i.test(s.name))!;
    trackerId = (await rest("GET", "/trackers.json")).json.trackers[0].id;
    projectTotal = async () => (await rest("GET", `/issues.json?project_id=${PROJECT}&status_id=*&limit=1`)).json.total_count as number;
  });
  afterAll(async () => {
    for (const id of created) await rest("DELETE", `/issues/${id}.json`).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
  });

  it("login checks the key with /users/current.json (a wrong key is 401 there, exit 4)", async () => {
    const bad = await runCli(["login", "redmine", "--site", URL_!, "--project", PROJECT, "--token-stdin", "--insecure-storage"], { home, input: "0".repeat(40) });
    expect(bad.code, bad.stderr).toBe(4);
    const ok = await runCli(["login", "redmine", "--site", URL_!, "--project", PROJECT, "--token-stdin", "--insecure-storage", "--json"], { home, input: KEY });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).account).toMatchObject({ name: "Redmine Admin", email: expect.stringContaining("@") });
    provider = providerFor(home, { provider: "redmine", token: KEY! } as FakeTracker);
  });

  it(`--full finds new issues over several pages, closed ones too, each exactly once`, async () => {
    for (let i = 0; i < MANY; i++) await createIssue(`${run} bulk ${i}`);
    const closed = created[0]!;
    const put = await rest("PUT", `/issues/${closed}.json`, { issue: { status_id: closedStatus.id } });
    expect(put.status).toBe(204);
    // Redmine itself hides it unless status_id=* is sent.
    const openOnly = (await rest("GET", `/issues.json?project_id=${PROJECT}&limit=100&sort=id:desc`)).json.issues as { id: number }[];
    expect(openOnly.some((i) => i.id === closed)).toBe(false);

    const total = await projectTotal();
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code, result.stderr).toBe(0);
    // Issues created within one second share `updated_on`; paging by value must neither skip nor repeat.
    expect(report.runs[0]).toMatchObject({ status: "ok", pulled: total, created: total });
    expect(scalar<number>(home, "SELECT count(*) FROM issues WHERE deleted_at IS NULL")).toBe(total);
    for (const id of created) expect(row(id), `#${id}`).toBeDefined();
    expect(row(closed)).toMatchObject({ status: closedStatus.name, status_category: "done", project: PROJECT });
    expect(row(closed)!.resolved_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    const catalog = query<{ name: string; custom: number }>(home, "SELECT name, custom FROM field_catalog WHERE custom = 1");
    expect(catalog.map((f) => f.name)).toContain("Customer Ref");
  }, 180_000);

  it("--incremental picks up an edit made on the server", async () => {
    const id = created[1]!;
    expect((await rest("PUT", `/issues/${id}.json`, { issue: { subject: `${run} edited on the server` } })).status).toBe(204);
    const { result, report } = await syncJson(home, ["--incremental"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0]).toMatchObject({ status: "ok", mode: "incremental", created: 0, updated: 1 });
    expect(row(id)!.title).toBe(`${run} edited on the server`);
  });

  it("writeIssue changes title, description, status, priority, due date and assignee on the server", async () => {
    const id = created[2]!;
    const current = (await provider.fetchIssue(`#${id}`))!;
    expect(current.issue.key).toBe(`#${id}`);
    await provider.writeIssue(current, [
      { field: "title", value: `${run} written by pmsync` },
      { field: "description", value: "First line\nSecond line" },
      { field: "status", value: "In Progress" },
      { field: "priority", value: "High" },
      { field: "due_date", value: "2031-03-04" },
      { field: "assignee", value: "Redmine Admin" },
    ]);
    const onServer = (await rest("GET", `/issues/${id}.json`)).json.issue;
    expect(onServer).toMatchObject({
      subject: `${run} written by pmsync`,
      status: { name: "In Progress" },
      priority: { name: "High" },
      due_date: "2031-03-04",
      assigned_to: { name: "Redmine Admin" },
    });
    expect(onServer.description.replace(/\r\n/g, "\n")).toBe("First line\nSecond line");
    const after = (await provider.fetchIssue(`#${id}`))!;
    expect(after.issue).toMatchObject({ title: `${run} written by pmsync`, status: "In Progress", priority: "High", assignee: "Redmine Admin", due_date: "2031-03-04", description: "First line\nSecond line" });

    // Clearing: Redmine ignores `assigned_to_id: null`; pmsync sends "" and checks.
    await provider.writeIssue(after, [{ field: "assignee", value: null }, { field: "due_date", value: null }, { field: "status", value: closedStatus.name }]);
    const cleared = (await rest("GET", `/issues/${id}.json`)).json.issue;
    expect(cleared.assigned_to).toBeUndefined();
    expect(cleared.due_date).toBeNull();
    expect(cleared.status.name).toBe(closedStatus.name);

    // Redmine's own refusals and pmsync's.
    const early = await provider.writeIssue(after, [{ field: "due_date", value: "2001-01-01" }]).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(RemoteError);
    expect((early as Error).message).toBe(`Redmine refused the change to #${id}: Due date must be greater than start date`);
    await expect(provider.writeIssue(after, [{ field: "status", value: "No Such Status" }])).rejects.toBeInstanceOf(UsageError);
    await expect(provider.writeIssue(after, [{ field: "labels", value: ["x"] }])).rejects.toThrow(/no labels/);
    await expect(provider.writeIssue(after, [{ field: "assignee", value: "nobody-by-this-name" }])).rejects.toBeInstanceOf(UsageError);
  });

  it("pmsync edit + push shows up on the server; a server-side change first is a conflict (exit 5) until --force", async () => {
    const [a, b] = [created[4]!, created[5]!];
    await syncJson(home, ["--incremental"]);
    const ed = await runCli(["edit", `#${a}`, "--set", `title=${run} pushed`, "--set", "status=In Progress", "--set", "due_date=2032-01-02"], { home });
    expect(ed.code, ed.stderr).toBe(0);
    const pushed = await runCli(["push", "--json"], { home });
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(JSON.parse(pushed.stdout).runs[0]).toMatchObject({ status: "ok", pushed: 3, conflicts: 0 });
    expect((await rest("GET", `/issues/${a}.json`)).json.issue).toMatchObject({ subject: `${run} pushed`, status: { name: "In Progress" }, due_date: "2032-01-02" });
    expect(row(a)!.title).toBe(`${run} pushed`);

    expect((await runCli(["edit", `#${b}`, "--set", `title=${run} mine`], { home })).code).toBe(0);
    expect((await rest("PUT", `/issues/${b}.json`, { issue: { subject: `${run} theirs` } })).status).toBe(204);
    const held = await runCli(["push"], { home });
    expect(held.code).toBe(5);
    expect((await rest("GET", `/issues/${b}.json`)).json.issue.subject).toBe(`${run} theirs`);
    expect((await runCli(["push", "--force"], { home })).code).toBe(0);
    expect((await rest("GET", `/issues/${b}.json`)).json.issue.subject).toBe(`${run} mine`);
  });

  it("a deleted issue: fetchIssue returns null and --full marks it deleted", async () => {
    const id = created[3]!;
    expect((await rest("DELETE", `/issues/${id}.json`)).status).toBe(204);
    expect(await provider.fetchIssue(`#${id}`)).toBeNull();
    const { result, report } = await syncJson(home, ["--full"]);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0].deleted).toBe(1);
    expect(row(id)!.deleted_at).toMatch(/^\d{4}-/);
    expect(report.runs[0].pulled).toBe(await projectTotal());
  }, 120_000);
});
