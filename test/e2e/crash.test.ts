// Real processes, killed for real: a sync killed with SIGKILL resumes without losing or
// duplicating anything, and a second sync of the same connection exits 75 at once.

import { afterEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxHandle } from "../../src/sandbox/index.js";
import Papa from "papaparse";
import { collect, loginSandbox, query, runCli, scalar, spawnCli, syncJson, tempHome } from "../helpers/cli.js";

const sandboxes: SandboxHandle[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

async function waitFor(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("crash safety", () => {
  it("SIGKILL in the middle of a 20,000-issue sync, then a re-run ends with exactly 20,000 issues", async () => {
    // latency makes the sync last long enough to be killed in the middle
    const sb = await startSandbox({ issues: 20_000, latencyMs: 15 });
    sandboxes.push(sb);
    const home = tempHome();
    await loginSandbox(home, sb);

    const child = spawnCli(["sync"], { home });
    const done = collect(child);
    await waitFor(() => sb.control.stats().searchRequests >= 40, "40 search pages");
    child.kill("SIGKILL");
    const killed = await done;
    expect(killed.signal).toBe("SIGKILL");

    const partial = scalar(home, "SELECT count(*) FROM issues");
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(20_000);
    const cursor = scalar<string>(home, "SELECT cursor FROM sync_state WHERE connection = 'jira'");
    expect(cursor).not.toBeNull();
    // the killed run left its lock behind; the next run must take it over, not exit 75
    expect(scalar(home, "SELECT lock_pid FROM sync_state")).not.toBeNull();

    const { result, report } = await syncJson(home);
    expect(result.code).toBe(0);
    expect(report.runs[0].mode).toBe("incremental"); // resumed from the committed cursor
    expect(scalar(home, "SELECT count(*) FROM issues")).toBe(20_000);
    expect(scalar(home, "SELECT count(DISTINCT id) FROM issues")).toBe(20_000);
    expect(scalar(home, "SELECT count(DISTINCT key) FROM issues")).toBe(20_000);
    expect(scalar(home, "SELECT count(*) FROM issues WHERE deleted_at IS NOT NULL")).toBe(0);

    // and a full sweep agrees: nothing to create, nothing missing
    const full = await syncJson(home, ["--full"]);
    expect(full.report.runs[0]).toMatchObject({ created: 0, updated: 0, deleted: 0, pulled: 20_000 });

    // 20,000 rows take the two-thread export path: every issue once, in table order, CSV = NDJSON
    const csv = await runCli(["export", "--format", "csv"], { home });
    const nd = await runCli(["export", "--format", "ndjson", "--fields", "key"], { home });
    const rows = Papa.parse<string[]>(csv.stdout, { newline: "\r\n", skipEmptyLines: true }).data.slice(1);
    const ndKeys = nd.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { key: string }).key);
    const dbKeys = query<{ key: string }>(home, "SELECT key FROM issues ORDER BY rowid").map((r) => r.key);
    expect(rows.map((r) => r[2])).toEqual(dbKeys);
    expect(ndKeys).toEqual(dbKeys);
    const json = JSON.parse((await runCli(["export"], { home })).stdout) as unknown[];
    expect(json).toHaveLength(20_000);
  });

  it("a second sync of the same connection exits 75 at once while the first runs", async () => {
    const sb = await startSandbox({ issues: 6_000, latencyMs: 50 });
    sandboxes.push(sb);
    const home = tempHome();
    await loginSandbox(home, sb);

    const first = spawnCli(["sync"], { home });
    const firstDone = collect(first);
    await waitFor(() => sb.control.stats().searchRequests >= 2, "the first sync to be under way");
    const second = await runCli(["sync"], { home });
    expect(second.code, second.stderr).toBe(75);
    expect(second.stderr).toMatch(/another pmsync process \(pid \d+/);
    // --json reports the run as locked
    const third = await syncJson(home);
    expect(third.result.code).toBe(75);
    expect(third.report.runs[0].status).toBe("locked");

    const firstResult = await firstDone;
    expect(firstResult.code, firstResult.stderr).toBe(0);
    expect(scalar(home, "SELECT count(*) FROM issues")).toBe(6_000);
    // the locked runs gave up before calling the tracker: one field-catalog request in all
    expect(sb.control.stats().byEndpoint.field).toBe(1);
  });
});
