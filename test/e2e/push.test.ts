// Local edits and safe push through the built CLI against the sandbox (Jira wire format):
// edit / import / pending / discard / push, conflicts, --force, --dry-run, and a push killed
// with SIGKILL and run again.

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Papa from "papaparse";
import { afterEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxHandle } from "../../src/sandbox/index.js";
import { collect, loginSandbox, query, runCli, scalar, spawnCli, syncJson, tempHome } from "../helpers/cli.js";

const sandboxes: SandboxHandle[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

async function syncedHome(issues = 60) {
  const sb = await startSandbox({ issues });
  sandboxes.push(sb);
  const home = tempHome();
  await loginSandbox(home, sb);
  const { result } = await syncJson(home);
  expect(result.code, result.stderr).toBe(0);
  return { sb, home };
}

/** Another person's edit, made through the tracker's own API. */
async function remoteEdit(sb: SandboxHandle, key: string, fields: Record<string, unknown>) {
  const res = await fetch(`${sb.url}/rest/api/3/issue/${key}`, {
    method: "PUT",
    headers: { authorization: "Basic " + Buffer.from(`${sb.email}:${sb.apiToken}`).toString("base64"), "content-type": "application/json" },
    body: JSON.stringify({ fields }),
  });
  expect(res.status).toBe(204);
}

const remote = (sb: SandboxHandle, key: string) => sb.control.getIssue(key)!.fields as Record<string, any>;
const pendingJson = async (home: string) => JSON.parse((await runCli(["pending", "--json"], { home })).stdout) as any[];
const cached = (home: string, key: string) => query<any>(home, "SELECT * FROM issues WHERE key = ?", key)[0];

/** An issue in a status with a transition to "In Progress", and a person who can be assigned. */
function pickIssue(home: string) {
  const row = query<{ key: string; status: string }>(home, "SELECT key, status FROM issues WHERE status = 'To Do' ORDER BY key LIMIT 1")[0]!;
  const person = scalar<string>(home, "SELECT assignee FROM issues WHERE assignee IS NOT NULL ORDER BY assignee LIMIT 1");
  return { key: row.key, person };
}

describe("edit and pending", () => {
  it("queues validated changes, shows them, and rejects bad values without queuing anything", async () => {
    const { home } = await syncedHome();
    const { key, person } = pickIssue(home);
    const ok = await runCli(["edit", key, "--set", "title=Renamed locally", "--set", "status=in progress", "--set", `assignee=${person}`, "--add-label", "pmsync"], { home });
    expect(ok.code, ok.stderr).toBe(0);
    const list = await pendingJson(home);
    expect(list.map((c) => c.field).sort()).toEqual(["assignee", "labels", "status", "title"]);
    expect(list.find((c) => c.field === "status")).toMatchObject({ key, base: "To Do", local: "In Progress", state: "pending" });
    expect(list.find((c) => c.field === "labels").local).toContain("pmsync");

    for (const [args, message] of [
      [["--set", "colour=red"], /not an editable field/],
      [["--set", "status=Teleported"], /unknown status "Teleported"/],
      [["--set", "due_date=31/12/2027"], /not a date/],
      [["--set", "due_date=2027-02-30"], /not a date/],
      [["--set", "assignee=Nobody Atall"], /unknown user/],
      [["--set", "story_points=lots"], /story_points/],
      [["--set", "title="], /title cannot be empty/],
    ] as [string[], RegExp][]) {
      const bad = await runCli(["edit", key, ...args], { home });
      expect(bad.code, args.join(" ")).toBe(2);
      expect(bad.stderr).toMatch(message);
    }
    expect(await pendingJson(home)).toHaveLength(4);
    expect((await runCli(["edit", "NOPE-1", "--set", "title=x"], { home })).code).toBe(2);

    // --dry-run queues nothing; setting a field back to its base drops the queued change.
    expect((await runCli(["edit", key, "--set", "priority=Highest", "--dry-run"], { home })).code).toBe(0);
    const base = cached(home, key).title;
    expect((await runCli(["edit", key, "--set", `title=${base}`], { home })).code).toBe(0);
    expect((await pendingJson(home)).map((c) => c.field).sort()).toEqual(["assignee", "labels", "status"]);

    expect((await runCli(["discard", key], { home })).stdout).toContain("Discarded 3");
    expect(await pendingJson(home)).toEqual([]);
  });
});

describe("push", () => {
  it("writes the changes, re-pulls the issue, empties the outbox", async () => {
    const { sb, home } = await syncedHome();
    const { key, person } = pickIssue(home);
    await runCli(["edit", key, "--set", "title=Pushed by pmsync", "--set", "status=In Progress", "--set", `assignee=${person}`, "--set", "due_date=2027-05-06", "--set", "description=Line one\n\nLine two"], { home });
    const dry = await runCli(["push", "--dry-run", "--json"], { home });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout).runs[0].changes.every((c: any) => c.result === "would_write")).toBe(true);
    expect(remote(sb, key).summary).not.toBe("Pushed by pmsync");

    const r = await runCli(["push", "--json"], { home });
    expect(r.code, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout).runs[0];
    expect(run).toMatchObject({ connection: "jira", mode: "push", status: "ok", pushed: 5, conflicts: 0, failed: 0 });
    const f = remote(sb, key);
    expect(f.summary).toBe("Pushed by pmsync");
    expect(f.status.name).toBe("In Progress");
    expect(f.assignee.displayName).toBe(person);
    expect(f.duedate).toBe("2027-05-06");
    expect(cached(home, key)).toMatchObject({ title: "Pushed by pmsync", status: "In Progress", assignee: person, due_date: "2027-05-06", description: "Line one\n\nLine two" });
    expect(await pendingJson(home)).toEqual([]);
    const usage = JSON.parse((await runCli(["usage", "--json"], { home })).stdout).connections[0].days.at(-1);
    expect(usage.pushed).toBe(5);
  });

  it("holds back a field the tracker changed meanwhile (exit 5, tracker value kept); --force overrides", async () => {
    const { sb, home } = await syncedHome();
    const { key } = pickIssue(home);
    await runCli(["edit", key, "--set", "title=Mine", "--add-label", "local-only"], { home });
    await remoteEdit(sb, key, { summary: "Theirs" });

    const r = await runCli(["push"], { home });
    expect(r.code).toBe(5);
    expect(r.stdout).toMatch(/title: CONFLICT: base .*, local Mine, tracker now Theirs/);
    expect(remote(sb, key).summary).toBe("Theirs");
    expect(remote(sb, key).labels).toContain("local-only"); // the other field went through
    const list = await pendingJson(home);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ field: "title", local: "Mine", remote: "Theirs", state: "conflict" });

    const forced = await runCli(["push", "--force"], { home });
    expect(forced.code, forced.stderr).toBe(0);
    expect(remote(sb, key).summary).toBe("Mine");
    expect(await pendingJson(home)).toEqual([]);
  });

  it("an issue deleted in the tracker fails only its change (exit 3, kept queued); the others go through", async () => {
    const { sb, home } = await syncedHome();
    const [a, b] = query<{ key: string }>(home, "SELECT key FROM issues WHERE status = 'To Do' ORDER BY key LIMIT 2").map((r) => r.key) as [string, string];
    await runCli(["edit", a, "--set", "title=Fine"], { home });
    await runCli(["edit", b, "--set", "title=Too late"], { home });
    sb.control.remove({ keys: [b] });
    const r = await runCli(["push", "--json"], { home });
    expect(r.code).toBe(3);
    const run = JSON.parse(r.stdout).runs[0];
    expect(run.pushed).toBe(1);
    expect(run.changes.find((c: any) => c.key === b)).toMatchObject({ result: "failed", error: expect.stringMatching(/no longer exists/) });
    expect(remote(sb, a).summary).toBe("Fine");
    const left = await pendingJson(home);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ key: b, state: "failed" });
  });

});

describe("push: status through the workflow", () => {
  it("a status no transition leads to fails with the available transitions named; one step at a time works", async () => {
    const { sb, home } = await syncedHome();
    const { key } = pickIssue(home); // "To Do": the sandbox workflow has no To Do → Done
    await runCli(["edit", key, "--set", "status=Done"], { home });
    const r = await runCli(["push", "--json"], { home });
    expect(r.code).toBe(1);
    const change = JSON.parse(r.stdout).runs[0].changes[0];
    expect(change).toMatchObject({ key, field: "status", result: "failed" });
    expect(change.error).toMatch(/no transition .*To Do.*Done/i);
    expect(change.error).toContain("In Progress");
    expect(remote(sb, key).status.name).toBe("To Do");
    expect((await pendingJson(home))[0]).toMatchObject({ key, state: "failed" });

    await runCli(["edit", key, "--set", "status=In Progress"], { home });
    expect((await runCli(["push"], { home })).code).toBe(0);
    await runCli(["edit", key, "--set", "status=Done"], { home });
    expect((await runCli(["push"], { home })).code).toBe(0);
    expect(remote(sb, key).status.name).toBe("Done");
    expect(cached(home, key)).toMatchObject({ status: "Done", status_category: "done" });
  });
});

describe("import", () => {
  it("round-trips an edited CSV export: twenty rows changed, diff shown, pushed, found in the tracker", async () => {
    const { sb, home } = await syncedHome(80);
    const out = join(home, "issues.csv");
    expect((await runCli(["export", "--format", "csv", "--out", out], { home })).code).toBe(0);
    const parsed = Papa.parse<Record<string, string>>(readFileSync(out, "utf8"), { header: true, skipEmptyLines: true });
    const rows = parsed.data;
    const changed: string[] = [];
    for (const row of rows.slice(0, 20)) {
      row.title = `${row.title} (reviewed)`;
      changed.push(row.key!);
    }
    rows[0]!.labels = "alpha; beta";
    writeFileSync(out, Papa.unparse(rows, { newline: "\r\n" }));

    const dry = await runCli(["import", out, "--dry-run", "--json"], { home });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dry_run: true, rows: rows.length, issues: 20 });
    expect(await pendingJson(home)).toEqual([]);

    const imp = await runCli(["import", out], { home });
    expect(imp.code, imp.stderr).toBe(0);
    expect(imp.stdout).toContain("(reviewed)");
    expect((await pendingJson(home)).length).toBe(21);
    const push = await runCli(["push"], { home });
    expect(push.code, push.stderr).toBe(0);
    for (const k of changed) expect(remote(sb, k).summary).toMatch(/\(reviewed\)$/);
    expect([...remote(sb, rows[0]!.key!).labels].sort()).toEqual(["alpha", "beta"]);
    // Importing the same file again finds nothing new.
    const again = await runCli(["import", out, "--json"], { home });
    expect(JSON.parse(again.stdout).changes).toEqual([]);
  });

  it("rejects the whole file naming row and column; nothing is queued (CSV, JSON, NDJSON)", async () => {
    const { home } = await syncedHome(30);
    const json = JSON.parse((await runCli(["export", "--format", "json"], { home })).stdout) as any[];
    json[0].title = "fine change";
    json[2].due_date = "next tuesday";
    json[4].status = "Nonexistent";
    const jf = join(home, "bad.json");
    writeFileSync(jf, JSON.stringify(json));
    const r = await runCli(["import", jf], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("row 3, column due_date");
    expect(r.stderr).toContain("row 5, column status");
    expect(await pendingJson(home)).toEqual([]);

    const nd = join(home, "bad.ndjson");
    writeFileSync(nd, json.map((j) => JSON.stringify(j)).join("\n") + "\n");
    expect((await runCli(["import", nd], { home })).stderr).toContain("row 3, column due_date");

    const csvFile = join(home, "bad.csv");
    await runCli(["export", "--format", "csv", "--out", csvFile], { home });
    const rows = Papa.parse<Record<string, string>>(readFileSync(csvFile, "utf8"), { header: true, skipEmptyLines: true }).data;
    rows[6]!.story_points = "many";
    rows[1]!.key = "NOPE-999";
    writeFileSync(csvFile, Papa.unparse(rows, { newline: "\r\n" }));
    const c = await runCli(["import", csvFile], { home });
    expect(c.code).toBe(2);
    expect(c.stderr).toContain("row 7, column story_points");
    expect(c.stderr).toContain("row 2, column key");
    expect(await pendingJson(home)).toEqual([]);
  });
});

describe("crash safety", () => {
  it("a push killed with SIGKILL mid-way and run again applies every change once and loses none", async () => {
    const { sb, home } = await syncedHome(120);
    const keys = query<{ key: string }>(home, "SELECT key FROM issues ORDER BY key LIMIT 40").map((r) => r.key);
    for (const k of keys) expect((await runCli(["edit", k, "--set", `title=crash-safe ${k}`, "--add-label", "crash"], { home })).code).toBe(0);
    sb.control.resetStats();

    const child = spawnCli(["push"], { home });
    const done = collect(child);
    // Kill it once some writes have landed.
    for (let i = 0; i < 400 && (sb.control.stats().byEndpoint["issue PUT"] ?? 0) < 10; i++) await new Promise((r) => setTimeout(r, 10));
    child.kill("SIGKILL");
    await done;
    const firstPuts = sb.control.stats().byEndpoint["issue PUT"] ?? 0;
    expect(firstPuts).toBeGreaterThan(0);
    expect(firstPuts).toBeLessThan(keys.length);

    const again = await runCli(["push", "--json"], { home });
    expect(again.code, again.stderr).toBe(0);
    const totalPuts = sb.control.stats().byEndpoint["issue PUT"] ?? 0;
    expect(totalPuts).toBeLessThanOrEqual(keys.length); // no issue written twice
    for (const k of keys) {
      expect(remote(sb, k).summary).toBe(`crash-safe ${k}`);
      expect(remote(sb, k).labels).toContain("crash");
    }
    expect(await pendingJson(home)).toEqual([]);
  });
});
