// End to end through the built CLI (a subprocess, as cron runs it) against the sandbox.

import { statSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxHandle, type SandboxOptions } from "../../src/sandbox/index.js";
import { loginSandbox, query, runCli, scalar, syncJson, tempHome } from "../helpers/cli.js";

const sandboxes: SandboxHandle[] = [];
async function sandbox(opts: SandboxOptions = {}): Promise<SandboxHandle> {
  const sb = await startSandbox({ issues: 120, ...opts });
  sandboxes.push(sb);
  return sb;
}
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

/** A fingerprint of everything a failed sync must leave as it was. */
function cacheState(home: string) {
  return {
    issues: query(home, "SELECT id, content_hash, synced_at, deleted_at FROM issues ORDER BY id"),
    cursor: scalar<string>(home, "SELECT cursor FROM sync_state WHERE connection = 'jira'"),
    changes: scalar(home, "SELECT count(*) FROM issue_changes"),
  };
}

describe("login", () => {
  it("verifies the token before saving anything; a wrong token exits 4 and saves nothing", async () => {
    const sb = await sandbox();
    const home = tempHome();
    const bad = await runCli(["login", "jira", "--site", sb.url, "--email", sb.email, "--token-stdin", "--insecure-storage"], { home, input: "wrong-token" });
    expect(bad.code).toBe(4);
    expect(bad.stderr).toContain("pmsync login jira");
    expect(existsSync(join(home, "config.json"))).toBe(false);
    expect(existsSync(join(home, "credentials.json"))).toBe(false);

    const ok = await loginSandbox(home, sb);
    expect(ok.stdout).toMatch(/Logged in to .* as /);
    expect(statSync(join(home, "config.json")).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "credentials.json")).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "pmsync.db")).mode & 0o777).toBe(0o600);
    // the secret is in the credential store only: not in config.json, not in the cache
    expect(readFileSync(join(home, "config.json"), "utf8")).not.toContain(sb.apiToken);
    expect(readFileSync(join(home, "pmsync.db")).includes(sb.apiToken)).toBe(false);
    // the who-am-I calls count in usage (SPEC §10)
    expect(scalar(home, "SELECT sum(requests) FROM api_usage WHERE endpoint = 'myself'")).toBe(2);
  });

  it("without a keychain and without --insecure-storage, fails fast and names the alternatives", async () => {
    const sb = await sandbox();
    const home = tempHome();
    const r = await runCli(["login", "jira", "--site", sb.url, "--email", sb.email, "--token-stdin"], { home, input: sb.apiToken });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/keychain is unavailable/);
    expect(r.stderr).toContain("--insecure-storage");
    expect(r.stderr).toContain("PMSYNC_TOKEN_JIRA");
    expect(sb.control.stats().requests).toBe(0);
  });

  it("rejects plain http for a non-loopback site", async () => {
    const home = tempHome();
    const r = await runCli(["login", "jira", "--site", "http://jira.example.com", "--email", "a@b.c", "--token-stdin"], { home, input: "t" });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/https/);
  });
});

describe("sync", () => {
  it("pulls everything, then an unchanged incremental writes nothing with one search request", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await loginSandbox(home, sb);
    const first = await syncJson(home);
    expect(first.result.code).toBe(0);
    expect(first.report.status).toBe("ok");
    expect(first.report.runs[0]).toMatchObject({ connection: "jira", provider: "jira", mode: "full", status: "ok", pulled: 120, created: 120, updated: 0, deleted: 0 });
    expect(scalar(home, "SELECT count(*) FROM issues")).toBe(120);

    const before = cacheState(home);
    sb.control.resetStats();
    const second = await syncJson(home);
    expect(second.report.runs[0]).toMatchObject({ mode: "incremental", status: "ok", created: 0, updated: 0, deleted: 0 });
    expect(sb.control.stats().searchRequests).toBe(1);
    expect(cacheState(home)).toEqual(before);
  });

  it("catches touches that a naive UTC `yyyy-MM-dd HH:mm` cursor would miss (account in America/Los_Angeles)", async () => {
    const sb = await sandbox({ timeZone: "America/Los_Angeles" });
    const home = tempHome();
    await loginSandbox(home, sb);
    await sb.control.touch({ count: 1 }); // recent activity: the cursor ends up close to now
    await syncJson(home);
    const cursor = scalar<string>(home, "SELECT cursor FROM sync_state");
    const touched = await sb.control.touch({ count: 3 });

    // What a naive client would send: the cursor minus overlap as a UTC wall-clock literal.
    // The sandbox, like Jira, reads it in the account's zone (8 h later) and finds nothing.
    const naive = new Date(Date.parse(cursor) - 5 * 60_000).toISOString().slice(0, 16).replace("T", " ");
    const auth = "Basic " + Buffer.from(`${sb.email}:${sb.apiToken}`).toString("base64");
    const res = await fetch(`${sb.url}/rest/api/3/search/jql`, {
      method: "POST",
      headers: { authorization: auth, "content-type": "application/json" },
      body: JSON.stringify({ jql: `updated >= "${naive}" ORDER BY updated ASC`, fields: ["key"], maxResults: 100 }),
    });
    const naiveKeys = ((await res.json()) as { issues: { key: string }[] }).issues.map((i) => i.key);
    for (const k of touched) expect(naiveKeys).not.toContain(k);

    const { report } = await syncJson(home);
    expect(report.runs[0]).toMatchObject({ mode: "incremental", updated: 3, created: 0 });
    const changed = query<{ key: string }>(home, "SELECT DISTINCT key FROM issue_changes ORDER BY key").map((r) => r.key);
    expect(changed).toEqual([...touched].sort());
  });

  it("writes nothing for volatile-only changes, even on a full pull", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await loginSandbox(home, sb);
    await syncJson(home);
    const before = cacheState(home);
    await sb.control.touchVolatile({ count: 50 });
    const { report } = await syncJson(home, ["--full"]);
    expect(report.runs[0]).toMatchObject({ mode: "full", pulled: 120, created: 0, updated: 0, unchanged: 120, deleted: 0 });
    expect(cacheState(home)).toEqual(before);
  });

  it("marks issues that vanished as deleted on --full, never purging them", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await loginSandbox(home, sb);
    await syncJson(home);
    const gone = await sb.control.remove({ count: 2 });
    const inc = await syncJson(home);
    expect(inc.report.runs[0].deleted).toBe(0); // an incremental pull cannot see deletions
    const full = await syncJson(home, ["--full"]);
    expect(full.report.runs[0]).toMatchObject({ mode: "full", deleted: 2 });
    const rows = query<{ key: string; deleted_at: string | null }>(home, "SELECT key, deleted_at FROM issues WHERE deleted_at IS NOT NULL ORDER BY key");
    expect(rows.map((r) => r.key)).toEqual([...gone].sort());
    expect(scalar(home, "SELECT count(*) FROM issues")).toBe(120);
    const exported = JSON.parse((await runCli(["export"], { home })).stdout) as unknown[];
    expect(exported).toHaveLength(118);
    const all = JSON.parse((await runCli(["export", "--include-deleted"], { home })).stdout) as unknown[];
    expect(all).toHaveLength(120);
  });

  it("retries 429 and 503 (honouring Retry-After) and succeeds", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await loginSandbox(home, sb);
    sb.control.fault({ kind: "429", count: 1, retryAfter: 1 });
    sb.control.fault({ kind: "503", count: 1 });
    const { result, report } = await syncJson(home);
    expect(result.code).toBe(0);
    expect(report.runs[0]).toMatchObject({ status: "ok", pulled: 120, retries: 2 });
    const waits = scalar(home, "SELECT sum(rate_limit_waits) FROM api_usage WHERE status = 429");
    expect(waits).toBe(1);
  });

  for (const kind of ["malformed", "truncated", "html"] as const) {
    it(`a ${kind} page (twice) fails with a clear error and leaves data and cursor as they were`, async () => {
      const sb = await sandbox();
      const home = tempHome();
      await loginSandbox(home, sb);
      await syncJson(home);
      await sb.control.touch({ count: 4 });
      const before = cacheState(home);
      sb.control.fault({ kind, count: 2 });
      const { result, report } = await syncJson(home);
      expect(result.code).toBe(1);
      expect(report.status).toBe("failed");
      expect(report.runs[0].status).toBe("failed");
      expect(report.runs[0].error).toMatch(kind === "html" ? /HTML page instead of JSON/ : kind === "malformed" ? /malformed JSON/ : /cut off|shorter than/);
      expect(cacheState(home)).toEqual(before);
      // and the next run picks the changes up
      const again = await syncJson(home);
      expect(again.report.runs[0]).toMatchObject({ status: "ok", updated: 4 });
    });
  }

  // Once the decoder thread is up (within the first pages), pages are parsed there; a garbled
  // page passes the fetcher's framing check, so the decoder finds it, and the fetcher fetches it
  // again. (Early pages are parsed by the fetcher, through the same retry.)
  it("a garbled page (once) found by the decoder thread is fetched again and the sync completes", async () => {
    const sb = await sandbox({ issues: 3000 });
    const home = tempHome();
    await loginSandbox(home, sb);
    sb.control.fault({ kind: "garbled", skip: 20 });
    const { result, report } = await syncJson(home, ["--verbose"]);
    expect(result.code).toBe(0);
    expect(report.runs[0]).toMatchObject({ status: "ok", pulled: 3000, created: 3000 });
    expect(scalar(home, "SELECT count(DISTINCT id) FROM issues")).toBe(3000);
    expect(scalar(home, "SELECT sum(requests) FROM api_usage WHERE endpoint = 'search'")).toBe(30 + 1);
    // Past 2,000 written issues, WAL checkpoints run on their own thread (store/checkpointer.ts).
    expect(result.stderr).toMatch(/background checkpoints: [1-9]\d*, the WAL at most [1-9]\d* pages/);
  });

  it("a garbled page (twice) fails the run at that page: earlier pages kept, a re-run completes without duplicates", async () => {
    const sb = await sandbox({ issues: 3000 });
    const home = tempHome();
    await loginSandbox(home, sb);
    sb.control.fault({ kind: "garbled", skip: 20, count: 100 }); // page 20 and everything after, refetches too
    const { result, report } = await syncJson(home);
    expect(result.code).toBe(1);
    expect(report.runs[0].error).toMatch(/malformed JSON/);
    sb.control.clearFaults();
    // Pages before page 20 may be written (each whole); page 20 and later are not.
    const kept = scalar(home, "SELECT count(*) FROM issues");
    expect(kept % 100).toBe(0);
    expect(kept).toBeLessThanOrEqual(2000);
    const again = await syncJson(home);
    expect(again.result.code).toBe(0);
    expect(scalar(home, "SELECT count(*) FROM issues")).toBe(3000);
    expect(scalar(home, "SELECT count(DISTINCT id) FROM issues")).toBe(3000);
  });

  it("a hanging tracker times out (--timeout) and the retry succeeds", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await loginSandbox(home, sb);
    sb.control.fault({ kind: "hang", count: 1 });
    const { result, report } = await syncJson(home, ["--timeout", "1"]);
    expect(result.code).toBe(0);
    expect(report.runs[0]).toMatchObject({ status: "ok", pulled: 120, retries: 1 });
  });

  it("gives up with a clear error when the retry budget runs out", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await loginSandbox(home, sb);
    sb.control.fault({ kind: "503", count: 10, retryAfter: 2 });
    const { result, report } = await syncJson(home, ["--max-retry-wait", "3"]);
    expect(result.code).toBe(1);
    expect(report.runs[0].error).toMatch(/gave up after 2 attempt\(s\).*--max-retry-wait/);
  });

  it("api_usage counts exactly the requests the server saw (login, syncs, retries, failures)", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await runCli(["login", "jira", "--site", sb.url, "--email", sb.email, "--token-stdin", "--insecure-storage"], { home, input: "wrong" });
    await loginSandbox(home, sb);
    await syncJson(home);
    sb.control.fault({ kind: "429", count: 2, retryAfter: 1 });
    sb.control.fault({ kind: "malformed", count: 2 });
    await sb.control.touch({ count: 3 });
    await syncJson(home); // fails on the malformed page after the 429 retries
    await syncJson(home, ["--full", "--dry-run"]);
    const counted = scalar(home, "SELECT sum(requests) FROM api_usage");
    expect(counted).toBe(sb.control.stats().requests);
    expect(scalar(home, "SELECT sum(errors) FROM api_usage")).toBe(1 + 2 + 2); // 401, two 429s, two malformed
    expect(scalar(home, "SELECT sum(requests) FROM api_usage WHERE status = 401")).toBe(1);
  });

  it("a rejected token exits 4 and names `pmsync login`", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await loginSandbox(home, sb);
    const r = await runCli(["sync"], { home, env: { PMSYNC_TOKEN_JIRA: "revoked-token" } });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("pmsync login jira");
    expect(r.stderr).not.toContain("revoked-token");
  });

  it("--dry-run pulls and compares but writes no issue", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await loginSandbox(home, sb);
    const { report } = await syncJson(home, ["--dry-run"]);
    expect(report.runs[0]).toMatchObject({ status: "ok", created: 120 });
    expect(scalar(home, "SELECT count(*) FROM issues")).toBe(0);
    expect(scalar(home, "SELECT cursor FROM sync_state")).toBeNull();
  });

  it("unknown flags and connections are usage errors (exit 2)", async () => {
    const home = tempHome();
    expect((await runCli(["sync", "--bogus"], { home })).code).toBe(2);
    expect((await runCli(["sync", "nope"], { home })).code).toBe(2);
    expect((await runCli(["export", "--format", "xml"], { home })).code).toBe(2);
  });
});
