// The provider contract: every provider's fake goes through the same checks, through the built
// CLI as users run it (login, full and incremental pulls, volatile-only changes, deletions,
// rate limits, 5xx, malformed answers) and through the provider interface for writes.
//
// Use: `providerContract(startFake)` inside a test file (test/providers/<name>.test.ts).

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConnectionConfig } from "../../src/config.js";
import { UsageRecorder } from "../../src/http/usage.js";
import type { FakeTracker, StartFake } from "../../src/providers/fake.js";
import { connectionHttp } from "../../src/providers/http.js";
import type { FieldWrite, Provider } from "../../src/providers/provider.js";
import { providerModule } from "../../src/providers/registry.js";
import { UsageError } from "../../src/errors.js";
import { runCli, scalar, syncJson, tempHome, query } from "../helpers/cli.js";

/** More than two pages for every provider's page size (Jira 100, GitHub 100, Redmine 100, Linear ≤ 100). */
export const CONTRACT_ISSUES = 230;

export async function loginFake(home: string, fake: FakeTracker, extra: string[] = []) {
  const r = await runCli(["login", fake.provider, ...fake.loginArgs, "--token-stdin", "--insecure-storage", ...extra], { home, input: fake.token });
  if (r.code !== 0) throw new Error(`login failed (${r.code}): ${r.stderr}`);
  return r;
}

/** The provider object for the connection saved in `home`, for calling writes directly. */
export function providerFor(home: string, fake: FakeTracker): Provider {
  const cfg = JSON.parse(readFileSync(join(home, "config.json"), "utf8")) as { connections: Record<string, ConnectionConfig> };
  const conn = cfg.connections[fake.provider]!;
  const secret = { type: "api_token" as const, token: fake.token };
  const http = connectionHttp({ name: fake.provider, conn, secret, usage: new UsageRecorder(), settings: { maxRetryWaitMs: 10_000 } });
  return providerModule(fake.provider).create({ connectionName: fake.provider, config: conn, secret, http });
}

const issueCount = (home: string) => scalar<number>(home, "SELECT count(*) FROM issues WHERE deleted_at IS NULL");
const changeCount = (home: string) => scalar<number>(home, "SELECT count(*) FROM issue_changes");
const titleOf = (home: string, key: string) => scalar<string>(home, "SELECT title FROM issues WHERE key = ?", key);

export function providerContract(startFake: StartFake): void {
  describe("provider contract", () => {
    let fake: FakeTracker;
    let home: string;
    let keys: string[];

    beforeEach(async () => {
      fake = await startFake();
      keys = fake.seed(CONTRACT_ISSUES);
      home = tempHome();
    });
    afterEach(async () => {
      await fake.close();
    });

    it("login verifies the credential before saving anything", async () => {
      const bad = await runCli(["login", fake.provider, ...fake.loginArgs, "--token-stdin", "--insecure-storage"], { home, input: "wrong-token" });
      expect(bad.code).toBe(4);
      expect(bad.stderr).toMatch(/pmsync login/);
      expect(() => readFileSync(join(home, "config.json"), "utf8")).toThrow();

      const ok = await loginFake(home, fake, ["--json"]);
      const res = JSON.parse(ok.stdout);
      expect(res.provider).toBe(fake.provider);
      expect(res.account.name).toBeTruthy();
      const st = await runCli(["status", "--json"], { home });
      expect(st.stdout).toContain(fake.provider);

      // logout forgets the secret (sync then asks for login) and says where to revoke it, for this tracker.
      const out = await runCli(["logout", fake.provider], { home });
      expect(out.code, out.stderr).toBe(0);
      if (fake.provider !== "jira") expect(out.stderr).not.toMatch(/jira|atlassian/i);
      expect(out.stderr).toMatch(/revoke|delete|reset/i);
      expect((await runCli(["sync"], { home })).code).toBe(4);
    });

    it("full pull gets every issue over several pages, each request counted", async () => {
      await loginFake(home, fake);
      const before = fake.requestCount();
      const { result, report } = await syncJson(home, ["--full"]);
      expect(result.code, result.stderr).toBe(0);
      expect(report.runs[0]).toMatchObject({ status: "ok", pulled: CONTRACT_ISSUES, created: CONTRACT_ISSUES });
      expect(issueCount(home)).toBe(CONTRACT_ISSUES);
      const rows = query<{ key: string; title: string; status_category: string; updated_at: string; url: string }>(
        home,
        "SELECT key, title, status_category, updated_at, url FROM issues",
      );
      expect(new Set(rows.map((r) => r.key))).toEqual(new Set(keys));
      for (const r of rows) {
        expect(r.title).toBeTruthy();
        expect(["todo", "in_progress", "done", "cancelled"]).toContain(r.status_category);
        expect(r.updated_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      }
      expect(new Set(rows.map((r) => r.status_category)).size).toBeGreaterThan(1);
      // The usage tables saw exactly what the server saw.
      const served = fake.requestCount() - before;
      expect(served).toBeGreaterThanOrEqual(3);
      expect(scalar<number>(home, "SELECT sum(requests) FROM api_usage")).toBe(fake.requestCount());
      expect(report.runs[0].requests).toBe(served);
    });

    it("incremental pull picks up edits, including one at the cursor boundary, and rewrites nothing else", async () => {
      await loginFake(home, fake);
      expect((await syncJson(home, ["--full"])).result.code).toBe(0);
      const boundary = fake.maxUpdatedMs();
      fake.editTitle(keys[3]!, "edited at the boundary", boundary); // same instant as the cursor
      fake.editTitle(keys[7]!, "edited later");
      const { result, report } = await syncJson(home, ["--incremental"]);
      expect(result.code, result.stderr).toBe(0);
      expect(report.runs[0]).toMatchObject({ status: "ok", updated: 2, created: 0 });
      expect(titleOf(home, keys[3]!)).toBe("edited at the boundary");
      expect(titleOf(home, keys[7]!)).toBe("edited later");
      expect(scalar<number>(home, "SELECT count(*) FROM issue_changes WHERE field = 'title'")).toBe(2);
      // Nothing new: the overlap re-reads a few, writes none.
      const again = await syncJson(home, ["--incremental"]);
      expect(again.report.runs[0]).toMatchObject({ status: "ok", updated: 0, created: 0 });
    });

    it("a change only in volatile content writes nothing", async () => {
      await loginFake(home, fake);
      expect((await syncJson(home, ["--full"])).result.code).toBe(0);
      const changes = changeCount(home);
      const hash = scalar<string>(home, "SELECT content_hash FROM issues WHERE key = ?", keys[5]);
      fake.touchVolatile(keys[5]!);
      const { report } = await syncJson(home, ["--full"]);
      expect(report.runs[0]).toMatchObject({ status: "ok", updated: 0, unchanged: CONTRACT_ISSUES });
      expect(changeCount(home)).toBe(changes);
      expect(scalar<string>(home, "SELECT content_hash FROM issues WHERE key = ?", keys[5])).toBe(hash);
    });

    it("--full marks vanished issues deleted and keeps them", async () => {
      await loginFake(home, fake);
      expect((await syncJson(home, ["--full"])).result.code).toBe(0);
      fake.remove(keys[0]!);
      fake.remove(keys[1]!);
      const { result, report } = await syncJson(home, ["--full"]);
      expect(result.code, result.stderr).toBe(0);
      expect(report.runs[0].deleted).toBe(2);
      expect(scalar<number>(home, "SELECT count(*) FROM issues WHERE deleted_at IS NOT NULL")).toBe(2);
      expect(scalar<number>(home, "SELECT count(*) FROM issues")).toBe(CONTRACT_ISSUES);
    });

    it("waits out rate limits and retries 5xx, counting both", async () => {
      await loginFake(home, fake);
      fake.fail("rate_limit", 1);
      fake.fail("server_error", 2);
      const { result, report } = await syncJson(home, ["--full"]);
      expect(result.code, result.stderr).toBe(0);
      expect(report.runs[0].pulled).toBe(CONTRACT_ISSUES);
      expect(report.runs[0].retries).toBeGreaterThanOrEqual(3);
      expect(scalar<number>(home, "SELECT sum(rate_limit_waits) FROM api_usage")).toBeGreaterThanOrEqual(1);
      expect(scalar<number>(home, "SELECT sum(requests) FROM api_usage")).toBe(fake.requestCount());
    });

    it("a malformed answer is retried once, and twice fails the run without writing that page", async () => {
      await loginFake(home, fake);
      fake.fail("malformed", 1);
      expect((await syncJson(home, ["--full"])).result.code).toBe(0);
      expect(issueCount(home)).toBe(CONTRACT_ISSUES);

      fake.editTitle(keys[2]!, "not seen yet");
      fake.fail("malformed", 2);
      const { result } = await syncJson(home, ["--incremental"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/malformed|JSON/i);
      expect(titleOf(home, keys[2]!)).not.toBe("not seen yet");
      // The cursor did not move: the next run finds the edit.
      expect((await syncJson(home, ["--incremental"])).result.code).toBe(0);
      expect(titleOf(home, keys[2]!)).toBe("not seen yet");
    });

    it("writes each editable field (title, description, status, priority, assignee, labels, due date); bad names and unsupported fields are clear errors", async () => {
      await loginFake(home, fake);
      const provider = providerFor(home, fake);
      const editable = provider.editableFields;
      // Every tracker can change these; the rest only where the tracker has the field at all.
      for (const f of ["title", "description", "status", "assignee"] as const) expect(editable.has(f), f).toBe(true);
      const key = keys[10]!;
      const current = await provider.fetchIssue(key);
      expect(current?.issue.key).toBe(key);
      const v = fake.vocabulary;
      const wanted: FieldWrite[] = [
        { field: "title", value: "Written by pmsync" },
        { field: "description", value: "First line\nSecond line" },
        { field: "status", value: v.inProgressStatus },
        { field: "priority", value: v.priorities[0]! },
        { field: "assignee", value: v.users[0]! },
        { field: "labels", value: ["pmsync", "contract"] },
        { field: "due_date", value: "2027-03-04" },
      ];
      await provider.writeIssue(current!, wanted.filter((w) => editable.has(w.field)));
      const view = fake.view(key)!;
      expect(view).toMatchObject({ title: "Written by pmsync", status: v.inProgressStatus, assignee: v.users[0] });
      expect(view.description).toContain("Second line");
      if (editable.has("priority")) expect(view.priority).toBe(v.priorities[0]);
      if (editable.has("due_date")) expect(view.due_date).toBe("2027-03-04");
      if (editable.has("labels")) expect([...view.labels].sort()).toEqual(["contract", "pmsync"]);
      const after = await provider.fetchIssue(key);
      expect(after?.issue).toMatchObject({ title: "Written by pmsync", status: v.inProgressStatus, assignee: v.users[0] });
      if (editable.has("due_date")) expect(after?.issue.due_date).toBe("2027-03-04");

      const clear: FieldWrite[] = [{ field: "status", value: v.doneStatus }, { field: "labels", value: [] }, { field: "due_date", value: null }];
      await provider.writeIssue(after!, clear.filter((w) => editable.has(w.field)));
      expect(fake.view(key)!.status).toBe(v.doneStatus);
      if (editable.has("labels")) expect(fake.view(key)!.labels).toEqual([]);
      if (editable.has("due_date")) expect(fake.view(key)!.due_date).toBeNull();

      await expect(provider.writeIssue(after!, [{ field: "status", value: "No Such Status" }])).rejects.toBeInstanceOf(UsageError);
      await expect(provider.writeIssue(after!, [{ field: "assignee", value: "nobody-by-this-name" }])).rejects.toBeInstanceOf(UsageError);
      const unsupported = wanted.find((w) => !editable.has(w.field));
      if (unsupported) await expect(provider.writeIssue(after!, [unsupported])).rejects.toBeInstanceOf(UsageError);
      fake.remove(keys[11]!);
      expect(await provider.fetchIssue(keys[11]!)).toBeNull();
    });

    it("edit + push through the CLI: written to the tracker; a field changed there meanwhile is a conflict (exit 5) until --force", async () => {
      await loginFake(home, fake);
      expect((await syncJson(home, ["--full"])).result.code).toBe(0);
      const [a, b] = [keys[20]!, keys[21]!];
      const ed = await runCli(["edit", a, "--set", "title=Pushed from the CLI", "--set", `status=${fake.vocabulary.inProgressStatus}`, "--json"], { home });
      expect(ed.code, ed.stderr).toBe(0);
      const queued = JSON.parse(ed.stdout).queued as number; // 1 when the issue already had that status
      expect(queued).toBeGreaterThanOrEqual(1);
      const pushed = await runCli(["push", "--json"], { home });
      expect(pushed.code, pushed.stderr).toBe(0);
      expect(JSON.parse(pushed.stdout).runs[0]).toMatchObject({ mode: "push", status: "ok", pushed: queued, conflicts: 0 });
      expect(fake.view(a)).toMatchObject({ title: "Pushed from the CLI", status: fake.vocabulary.inProgressStatus });
      expect(titleOf(home, a)).toBe("Pushed from the CLI");

      expect((await runCli(["edit", b, "--set", "title=Mine"], { home })).code).toBe(0);
      fake.editTitle(b, "Theirs");
      const held = await runCli(["push"], { home });
      expect(held.code).toBe(5);
      expect(fake.view(b)!.title).toBe("Theirs");
      const pending = JSON.parse((await runCli(["pending", "--json"], { home })).stdout);
      expect(pending).toMatchObject([{ key: b, field: "title", local: "Mine", remote: "Theirs", state: "conflict" }]);
      expect((await runCli(["push", "--force"], { home })).code).toBe(0);
      expect(fake.view(b)!.title).toBe("Mine");
      expect(JSON.parse((await runCli(["pending", "--json"], { home })).stdout)).toEqual([]);
    });
  });
}
