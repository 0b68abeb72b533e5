// Reports and cron-grade operation through the built CLI: `changes`, auto-disable after failed
// syncs and `connections enable`, usage counts against the server's own counter, and each
// report's output on a terminal (a real pty) and piped.

import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxHandle } from "../../src/sandbox/index.js";
import { loginSandbox, runCli, scalar, syncJson, tempHome } from "../helpers/cli.js";
import { runPty, spawnPty } from "../helpers/pty.js";

const sandboxes: SandboxHandle[] = [];
async function sandbox(issues = 120): Promise<SandboxHandle> {
  const sb = await startSandbox({ issues });
  sandboxes.push(sb);
  return sb;
}
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

async function syncedHome(issues = 120) {
  const sb = await sandbox(issues);
  const home = tempHome();
  await loginSandbox(home, sb);
  const { result } = await syncJson(home);
  expect(result.code, result.stderr).toBe(0);
  return { sb, home };
}

describe("changes", () => {
  it("lists, per issue, the fields a sync changed: JSON, piped TSV and a terminal", async () => {
    const { sb, home } = await syncedHome();
    const touched = await sb.control.touch({ count: 3 });
    expect((await syncJson(home)).report.runs[0].updated).toBe(3);

    const json = await runCli(["changes", "--since", "1h", "--json"], { home });
    expect(json.code, json.stderr).toBe(0);
    const list = JSON.parse(json.stdout) as { connection: string; key: string; changes: { field: string; old: string | null; new: string | null }[] }[];
    expect(list.map((c) => c.key).sort()).toEqual([...touched].sort());
    for (const c of list) {
      expect(c.connection).toBe("jira");
      expect(c.changes.length).toBeGreaterThan(0);
      for (const f of c.changes) expect(f.old).not.toBe(f.new);
    }
    const fieldChanges = list.reduce((n, c) => n + c.changes.length, 0);
    expect(fieldChanges).toBe(scalar<number>(home, "SELECT count(*) FROM issue_changes"));

    const piped = await runCli(["changes", "--since", "1h"], { home });
    const lines = piped.stdout.replace(/\n$/, "").split("\n");
    expect(lines).toHaveLength(fieldChanges);
    for (const l of lines) expect(l.split("\t")).toHaveLength(6);

    const tty = await runPty(["changes", "--since", "1h"], { home });
    expect(tty.code).toBe(0);
    for (const k of touched) expect(tty.text).toContain(k);
    expect(tty.text).toContain("→");
    expect(tty.raw).toMatch(/\u001b\[1m/); // bold issue headers on a colour terminal

    // Nothing in the window; a bad --since is a usage error.
    expect(JSON.parse((await runCli(["changes", "--since", "2999-01-01", "--json"], { home })).stdout)).toEqual([]);
    const bad = await runCli(["changes", "--since", "yesterday"], { home });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since");
  });
});

describe("cron-grade operation", () => {
  it("disables a connection after N failed syncs in a row, says why, and `connections enable` brings it back", async () => {
    const { home } = await syncedHome(30);
    const set = await runCli(["connections", "set", "jira", "--auto-disable-after", "2", "--json"], { home });
    expect(JSON.parse(set.stdout)).toMatchObject({ connection: "jira", auto_disable_after: 2 });

    const bad = { PMSYNC_TOKEN_JIRA: "revoked-token" };
    const first = await runCli(["sync", "--incremental", "--quiet"], { home, env: bad });
    expect(first.code).toBe(4);
    let st = JSON.parse((await runCli(["status", "--json"], { home, env: bad })).stdout).connections[0];
    expect(st).toMatchObject({ enabled: true, consecutive_failures: 1, auto_disable_after: 2, healthy: false });

    const second = await runCli(["sync", "--incremental", "--quiet"], { home, env: bad }); // cron: the log still says it
    expect(second.code).toBe(4);
    expect(second.stderr).toMatch(/disabled after 2 failed syncs in a row/);

    // Disabled: skipped without a request, and status says why (exit 3 for monitoring).
    const third = await syncJson(home, [], { env: bad });
    expect(third.report.runs[0]).toMatchObject({ status: "skipped", requests: 0 });
    expect(third.report.runs[0].error).toContain("connections enable jira");
    const status = await runCli(["status", "--json"], { home });
    expect(status.code).toBe(3);
    st = JSON.parse(status.stdout).connections[0];
    expect(st.enabled).toBe(false);
    expect(st.disabled_reason).toMatch(/2 failed syncs in a row \(last: .*401/);
    expect((await runCli(["status"], { home })).stdout).toMatch(/enabled\s+no \(2 failed syncs/);

    const enable = await runCli(["connections", "enable", "jira"], { home });
    expect(enable.code).toBe(0);
    const again = await syncJson(home);
    expect(again.result.code).toBe(0);
    expect(again.report.runs[0].status).toBe("ok");
    st = JSON.parse((await runCli(["status", "--json"], { home })).stdout).connections[0];
    expect(st).toMatchObject({ enabled: true, consecutive_failures: 0, healthy: true });
  });

  it("a threshold of 0 never disables; disable/enable by hand; set --projects", async () => {
    const { home } = await syncedHome(30);
    await runCli(["connections", "set", "jira", "--auto-disable-after", "0"], { home });
    for (let i = 0; i < 2; i++) expect((await runCli(["sync"], { home, env: { PMSYNC_TOKEN_JIRA: "bad" } })).code).toBe(4);
    expect(JSON.parse((await runCli(["status", "--json"], { home })).stdout).connections[0]).toMatchObject({ enabled: true, consecutive_failures: 2 });

    expect((await runCli(["connections", "disable", "jira"], { home })).code).toBe(0);
    expect((await syncJson(home)).report.runs[0].status).toBe("skipped");
    expect((await runCli(["connections", "enable", "jira"], { home })).code).toBe(0);

    const scoped = await runCli(["connections", "set", "jira", "--projects", "ALPHA", "--json"], { home });
    expect(JSON.parse(scoped.stdout).projects).toEqual(["ALPHA"]);
    const none = await runCli(["connections", "set", "jira"], { home });
    expect(none.code).toBe(2);
  });

  it("status warns and exits 3 when the last good sync is older than --stale-after", async () => {
    const { home } = await syncedHome(20);
    expect((await runCli(["status", "--stale-after", "1h"], { home })).code).toBe(0);
    const db = new Database(join(home, "pmsync.db"));
    db.prepare("UPDATE sync_runs SET finished_at = '2026-01-01T00:00:00.000Z', started_at = '2026-01-01T00:00:00.000Z'").run();
    db.close();
    const r = await runCli(["status", "--stale-after", "2d", "--json"], { home });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout).connections[0].warnings.join("\n")).toMatch(/stale: last successful sync 2026-01-01.* \(older than 2d\)/);
    expect((await runCli(["status", "--stale-after", "soon"], { home })).code).toBe(2);
  });

  it("usage counts exactly the requests the server saw", async () => {
    const sb = await sandbox(250);
    const home = tempHome();
    sb.control.resetStats();
    await loginSandbox(home, sb);
    await syncJson(home);
    sb.control.fault({ kind: "503", count: 1 });
    await sb.control.touch({ count: 2 });
    await syncJson(home);
    const u = JSON.parse((await runCli(["usage", "--json"], { home })).stdout);
    const day = u.connections[0].days.at(-1);
    expect(day.requests).toBe(sb.control.stats().requests);
    expect(day.retries).toBe(1);
    expect(day.runs).toBe(2);
    expect(day.success_rate).toBe(1);
  });
});

describe("terminal and piped output", () => {
  it("status and usage: tables and colour on a terminal, tab-separated values when piped, colour off with NO_COLOR", async () => {
    const { home } = await syncedHome(40);
    const usageTty = await runPty(["usage"], { home });
    expect(usageTty.code).toBe(0);
    expect(usageTty.text).toMatch(/┌.*┐/); // cli-table3 box
    expect(usageTty.raw).toMatch(/\u001b\[36m/); // coloured header
    const usagePiped = await runCli(["usage"], { home });
    expect(usagePiped.stdout.split("\n")[0]).toBe("connection\tday\trequests\tfree_304\terrors\tretries\trl_waits\tMB_in\truns\tok\tpulled\tchanged\tpushed\tbudget");
    expect(usagePiped.stdout).not.toMatch(/┌|\u001b\[/);

    const statusTty = await runPty(["status"], { home });
    expect(statusTty.code).toBe(0);
    expect(statusTty.raw).toMatch(/\u001b\[1mjira/);
    const plain = await runPty(["status"], { home, env: { NO_COLOR: "1" } });
    expect(plain.raw).not.toMatch(/\u001b\[[0-9;]*m/);
    const flag = await runPty(["status", "--no-color"], { home });
    expect(flag.raw).not.toMatch(/\u001b\[[0-9;]*m/);
  });

  it("sync shows a progress line on a terminal only, and --quiet prints nothing on success", async () => {
    const sb = await sandbox(2500);
    const home = tempHome();
    await loginSandbox(home, sb);
    const tty = await runPty(["sync"], { home });
    expect(tty.code).toBe(0);
    expect(tty.text).toMatch(/jira: \d+ pages, \d+ issues \(\d+\/s\)/);
    expect(tty.text).toMatch(/jira: full ok: pulled 2500/);

    await sb.control.touch({ count: 2 });
    const piped = await runCli(["sync"], { home });
    expect(piped.stderr).not.toMatch(/pages, .* issues/);
    expect(piped.stdout).toMatch(/^jira: incremental ok: pulled \d+, created 0, updated 2/);

    const quiet = await runPty(["sync", "--quiet"], { home });
    expect(quiet.code).toBe(0);
    expect(quiet.text.trim()).toBe("");
  });
});

describe("interactive login (a real terminal)", () => {
  it("asks token or OAuth, then the site, the email and the token, and logs in", async () => {
    const sb = await sandbox(10);
    const home = tempHome();
    const s = spawnPty(["login", "jira", "--insecure-storage"], { home });
    await s.waitFor("How do you want to log in?");
    s.send("\r"); // API token (the default)
    await s.waitFor("Site URL");
    s.send(`${sb.url}\r`);
    await s.waitFor("Account email");
    s.send(`${sb.email}\r`);
    await s.waitFor("Jira API token");
    s.send(`${sb.apiToken}\r`);
    expect(await s.exit).toBe(0);
    expect(s.text()).toMatch(/Logged in to .* connection "jira" \(API token\)/);
    expect(s.text()).not.toContain(sb.apiToken); // masked
    const st = JSON.parse((await runCli(["status", "--json"], { home })).stdout).connections[0];
    expect(st).toMatchObject({ provider: "jira", auth: "token", secret_store: "file" });
  });

  it("choosing OAuth asks for the client id and secret; a bad site is re-asked, not fatal", async () => {
    const sb = await sandbox(10);
    const home = tempHome();
    const s = spawnPty(["login", "jira", "--insecure-storage", "--no-browser", "--callback-timeout", "2", "--port", "0"], { home });
    await s.waitFor("How do you want to log in?");
    s.send("\u001b[B\r"); // down to "OAuth in the browser"
    await s.waitFor("OAuth client id");
    s.send("my-client\r");
    await s.waitFor("OAuth client secret");
    s.send("my-secret\r");
    await s.waitFor("Open this URL in a browser");
    // Nobody approves: the callback wait ends with a clear message.
    expect(await s.exit).toBe(4);
    expect(s.text()).toMatch(/client_id=my-client/);
    expect(s.text()).not.toContain("my-secret");

    const t = spawnPty(["login", "jira", "--insecure-storage"], { home });
    await t.waitFor("How do you want to log in?");
    t.send("\r");
    await t.waitFor("Site URL");
    t.send("http://example.com\r");
    await t.waitFor("must use https://");
    t.send("\u0015"); // clear the line
    t.send(`${sb.url}\r`);
    await t.waitFor("Account email");
    t.send("\u0003"); // Ctrl-C: nothing saved
    const code = await t.exit;
    expect(code).not.toBe(0);
    expect((await runCli(["connections", "list", "--json"], { home })).stdout.trim()).toBe("[]");
  });

  it("without a terminal nothing is asked: the error names the flag", async () => {
    const sb = await sandbox(10);
    const r = await runCli(["login", "jira", "--site", sb.url, "--email", sb.email], { home: tempHome() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--token-stdin");
  });
});
