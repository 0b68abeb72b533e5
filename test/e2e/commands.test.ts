// Export, connections, status, scope, redaction and the demo, through the built CLI.

import { readFileSync, writeFileSync, existsSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import Papa from "papaparse";
import { afterEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxHandle } from "../../src/sandbox/index.js";
import { EXPORT_COLUMNS } from "../../src/export/export.js";
import { loginSandbox, query, runCli, scalar, spawnCli, syncJson, tempHome } from "../helpers/cli.js";

const sandboxes: SandboxHandle[] = [];
async function sandbox(issues = 150): Promise<SandboxHandle> {
  const sb = await startSandbox({ issues });
  sandboxes.push(sb);
  return sb;
}
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

async function syncedHome(issues = 150) {
  const sb = await sandbox(issues);
  const home = tempHome();
  await loginSandbox(home, sb);
  const { result } = await syncJson(home);
  expect(result.code).toBe(0);
  return { sb, home };
}

describe("export", () => {
  it("CSV round-trips: every issue one record, values equal the JSON export (multi-line descriptions, formulas)", async () => {
    const { home } = await syncedHome();
    const json = JSON.parse((await runCli(["export", "--format", "json"], { home })).stdout) as Record<string, unknown>[];
    const out = join(home, "issues.csv");
    const r = await runCli(["export", "--format", "csv", "--out", out, "--bom"], { home });
    expect(r.code).toBe(0);
    const text = readFileSync(out, "utf8");
    expect(text.startsWith("\uFEFF")).toBe(true);
    expect(text.endsWith("\r\n")).toBe(true);
    const parsed = Papa.parse<string[]>(text.slice(1), { newline: "\r\n", skipEmptyLines: true });
    expect(parsed.errors).toEqual([]);
    const [header, ...rows] = parsed.data;
    expect(header).toEqual([...EXPORT_COLUMNS]);
    expect(rows).toHaveLength(json.length);
    expect(json.some((j) => String(j.description ?? "").includes("\n"))).toBe(true);
    const unformula = (s: string) => (/^'[=+\-@\t\r]/.test(s) ? s.slice(1) : s);
    rows.forEach((row, i) => {
      const j = json[i]!;
      header!.forEach((col, c) => {
        const v = j[col];
        const expected = v === null ? "" : Array.isArray(v) ? v.join("; ") : String(v);
        expect(unformula(row[c]!), `${j.key} ${col}`).toBe(expected);
      });
    });
  });

  it("a large export (formatted on two threads) keeps every issue, in order, and text outside Latin-1 intact", async () => {
    const { home } = await syncedHome(20);
    // 17,000 more issues than the sync wrote: past the threshold where export threads start.
    // Every 7th title has characters outside Latin-1, which V8 keeps as two-byte strings.
    const db = new Database(join(home, "pmsync.db"), { fileMustExist: true });
    const copy = db.prepare(
      `INSERT INTO issues (connection, id, provider, key, url, project, type, title, description, status, status_category, priority,
         assignee, reporter, labels, parent, sprint, story_points, due_date, created_at, updated_at, resolved_at, deleted_at,
         content_hash, synced_at, custom, raw, provider_values)
       SELECT connection, ?, provider, ?, url, project, type, ?, description, status, status_category, priority,
         assignee, reporter, labels, parent, sprint, story_points, due_date, created_at, updated_at, resolved_at, deleted_at,
         content_hash, synced_at, custom, raw, provider_values FROM issues ORDER BY rowid LIMIT 1`,
    );
    db.transaction(() => {
      for (let n = 0; n < 17_000; n++) copy.run(`x${n}`, `BULK-${n}`, n % 7 === 0 ? `Łódź — 日本 ✓ 😀 #${n}` : `Plain title #${n}`);
    })();
    db.close();
    const json = JSON.parse((await runCli(["export", "--format", "json"], { home })).stdout) as Record<string, unknown>[];
    expect(json).toHaveLength(17_020);
    expect(json.slice(20).map((j) => j.key)).toEqual(Array.from({ length: 17_000 }, (_, n) => `BULK-${n}`));
    expect(json[20 + 7 * 1000]!.title).toBe("Łódź — 日本 ✓ 😀 #7000");
    const nd = (await runCli(["export", "--format", "ndjson"], { home })).stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(nd).toEqual(json);
    const csv = Papa.parse<string[]>((await runCli(["export", "--format", "csv", "--fields", "key,title"], { home })).stdout, { newline: "\r\n", skipEmptyLines: true });
    expect(csv.errors).toEqual([]);
    expect(csv.data.slice(1)).toEqual(json.map((j) => [j.key, j.title]));
  });

  it("NDJSON, filters and --fields", async () => {
    const { home } = await syncedHome();
    const nd = (await runCli(["export", "--format", "ndjson", "--status-category", "done", "--fields", "key,status_category,labels"], { home })).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(nd.length).toBe(scalar(home, "SELECT count(*) FROM issues WHERE status_category = 'done'"));
    expect(Object.keys(nd[0])).toEqual(["key", "status_category", "labels"]);
    expect(nd.every((x) => x.status_category === "done" && Array.isArray(x.labels))).toBe(true);
    const eng = JSON.parse((await runCli(["export", "--project", "ENG"], { home })).stdout) as { project: string }[];
    expect(eng.length).toBeGreaterThan(0);
    expect(eng.every((x) => x.project === "ENG")).toBe(true);
    const bad = await runCli(["export", "--fields", "key,nope"], { home });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("nope");
  });

  it("a reader that closes the pipe early (`| head`) ends the export quietly", async () => {
    const { home } = await syncedHome(150);
    const child = spawnCli(["export", "--format", "csv"], { home });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.stdout!.once("data", () => child.stdout!.destroy());
    const code = await new Promise<number | null>((res) => child.on("close", res));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("a failed --out leaves no partial file behind", async () => {
    const { home } = await syncedHome(20);
    const r = await runCli(["export", "--format", "csv", "--out", join(home, "missing-dir", "x.csv")], { home });
    expect(r.code).toBe(1);
    expect(existsSync(join(home, "missing-dir"))).toBe(false);
  });
});

describe("normalisation (Jira → unified columns)", () => {
  it("every exported issue matches the tracker's own JSON, field by field", async () => {
    const { home, sb } = await syncedHome(150);
    const issues = JSON.parse((await runCli(["export"], { home })).stdout) as Record<string, any>[];
    const iso = (s: string | null) => (s ? new Date(Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"))).toISOString() : null);
    const catalog = query<{ source_id: string; schema: string }>(home, "SELECT source_id, schema FROM field_catalog WHERE connection = 'jira'");
    const sprintField = catalog.find((f) => JSON.parse(f.schema)?.custom === "com.pyxis.greenhopper.jira:gh-sprint")!.source_id;
    let withParent = 0;
    let withSprint = 0;
    for (const x of issues) {
      const f = sb.control.getIssue(x.key)!.fields as Record<string, any>;
      expect(x.title).toBe(f.summary);
      expect(x.project).toBe(f.project.key);
      expect(x.type).toBe(f.issuetype.name);
      expect(x.status).toBe(f.status.name);
      expect(x.priority).toBe(f.priority?.name ?? null);
      expect(x.assignee).toBe(f.assignee?.displayName ?? null);
      expect(x.reporter).toBe(f.reporter?.displayName ?? null);
      expect(x.labels).toEqual(f.labels);
      expect(x.parent).toBe(f.parent?.key ?? null);
      expect(x.due_date).toBe(f.duedate ?? null);
      expect(x.created_at).toBe(iso(f.created));
      expect(x.updated_at).toBe(iso(f.updated));
      expect(x.resolved_at).toBe(iso(f.resolutiondate ?? null));
      const cat = f.status.statusCategory.key;
      const cancelled = ["Won't Do", "Won't Fix", "Duplicate", "Cannot Reproduce", "Declined"].includes(f.resolution?.name);
      expect(x.status_category).toBe(cat === "new" ? "todo" : cat === "indeterminate" ? "in_progress" : cancelled ? "cancelled" : "done");
      expect(x.url).toBe(`${sb.url}/browse/${x.key}`);
      if (x.parent) withParent++;
      const sprints = f[sprintField] as { name: string; state: string }[] | null;
      if (sprints?.length) {
        withSprint++;
        expect(x.sprint).toBe((sprints.find((s) => s.state === "active") ?? sprints[sprints.length - 1])!.name);
      } else expect(x.sprint).toBeNull();
      if (f.description) expect(typeof x.description).toBe("string");
    }
    expect(withParent).toBeGreaterThan(0);
    expect(withSprint).toBeGreaterThan(0);
    expect(new Set(issues.map((x) => x.status_category))).toEqual(new Set(["todo", "in_progress", "done", "cancelled"]));
    // the field catalog is stored for the mapping work, custom fields with their schema
    expect(catalog.length).toBeGreaterThan(20);
  });
});

describe("scope, connections, status", () => {
  it("the first login creates a PMSYNC_HOME that does not exist yet (0700), with --insecure-storage too", async () => {
    const sb = await sandbox(10);
    const home = join(tempHome(), "not", "there", "yet");
    await loginSandbox(home, sb);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, "credentials.json")).mode & 0o777).toBe(0o600);
    expect((await syncJson(home)).result.code).toBe(0);
  });

  it("--project at login limits the connection to that project", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await loginSandbox(home, sb, ["--project", "OPS"]);
    const { report } = await syncJson(home);
    const total = scalar(home, "SELECT count(*) FROM issues");
    expect(report.runs[0].pulled).toBe(total);
    expect(query<{ p: string }>(home, "SELECT DISTINCT project AS p FROM issues").map((r) => r.p)).toEqual(["OPS"]);
  });

  it("issues of a project taken out of the connection's scope are marked deleted on the next --full", async () => {
    const { home, sb } = await syncedHome();
    const before = scalar(home, "SELECT count(*) FROM issues WHERE project = 'ENG'");
    expect(before).toBeGreaterThan(0);
    await loginSandbox(home, sb, ["--project", "OPS", "--project", "WEB"]); // re-login narrows the scope
    const { report } = await syncJson(home, ["--full"]);
    expect(report.runs[0].deleted).toBe(before);
    expect(scalar(home, "SELECT count(*) FROM issues WHERE project = 'ENG' AND deleted_at IS NULL")).toBe(0);
    expect(scalar(home, "SELECT count(*) FROM issues WHERE project != 'ENG' AND deleted_at IS NOT NULL")).toBe(0);
  });

  it("sync --full --project marks deletions only inside that project", async () => {
    const { home, sb } = await syncedHome();
    const eng = query<{ key: string }>(home, "SELECT key FROM issues WHERE project = 'ENG' LIMIT 1")[0]!.key;
    expect(sb.control.remove({ keys: [eng] })).toContain(eng);
    const ops = await syncJson(home, ["--full", "--project", "OPS"]);
    expect(ops.report.runs[0]).toMatchObject({ status: "ok", deleted: 0 });
    expect(scalar(home, "SELECT count(*) FROM issues WHERE deleted_at IS NOT NULL")).toBe(0);
    const all = await syncJson(home, ["--full"]);
    expect(all.report.runs[0].deleted).toBeGreaterThanOrEqual(1);
    expect(scalar(home, "SELECT deleted_at IS NOT NULL FROM issues WHERE key = ?", eng)).toBe(1);
  });

  it("a run narrowed with --project does not move the connection's cursor past other projects' changes", async () => {
    const { home, sb } = await syncedHome();
    const cursor = Date.parse(scalar<string>(home, "SELECT cursor FROM sync_state"));
    const eng = query<{ key: string }>(home, "SELECT key FROM issues WHERE project = 'ENG' LIMIT 1")[0]!.key;
    const ops = query<{ key: string }>(home, "SELECT key FROM issues WHERE project = 'OPS' LIMIT 1")[0]!.key;
    sb.control.setIssueUpdated(eng, cursor + 60_000);
    sb.control.setIssueUpdated(ops, cursor + 20 * 60_000); // well past the 5-minute overlap
    const narrowed = await syncJson(home, ["--project", "OPS"]);
    expect(narrowed.report.runs[0]).toMatchObject({ status: "ok", updated: 1 });
    const all = await syncJson(home);
    expect(all.report.runs[0]).toMatchObject({ status: "ok", mode: "incremental" });
    expect(query<{ key: string }>(home, "SELECT DISTINCT key FROM issue_changes").map((r) => r.key)).toContain(eng);
    expect(Date.parse(scalar<string>(home, "SELECT updated_at FROM issues WHERE key = ?", eng))).toBe(cursor + 60_000);
  });

  it("connections list/show/remove and status (JSON and text)", async () => {
    const { home, sb } = await syncedHome(30);
    const list = JSON.parse((await runCli(["connections", "list", "--json"], { home })).stdout);
    expect(list).toEqual([expect.objectContaining({ name: "jira", provider: "jira", site: sb.url, enabled: true })]);
    const piped = await runCli(["connections"], { home });
    expect(piped.stdout.split("\n")[0]).toBe("name\tprovider\tsite\taccount\tauth\tsecret\tprojects\tenabled");
    const show = JSON.parse((await runCli(["connections", "show", "jira", "--json"], { home })).stdout);
    expect(show).toMatchObject({ name: "jira", issues: 30 });

    const st = await runCli(["status", "--json"], { home });
    expect(st.code).toBe(0);
    const s = JSON.parse(st.stdout).connections[0];
    expect(s).toMatchObject({ connection: "jira", healthy: true, secret_store: "file", last_sync: expect.objectContaining({ status: "ok", mode: "full" }) });
    expect(Object.values(s.issues as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(30);
    const text = await runCli(["status"], { home });
    expect(text.stdout).toContain("last sync");

    const rm = await runCli(["connections", "remove", "jira", "--purge"], { home });
    expect(rm.code).toBe(0);
    expect(scalar(home, "SELECT count(*) FROM issues")).toBe(0);
    expect(JSON.parse(readFileSync(join(home, "credentials.json"), "utf8"))).toEqual({});
  });

  it("logout removes the secret but keeps settings and cache; a sync then asks for login (exit 4)", async () => {
    const { home, sb } = await syncedHome(20);
    const r = await runCli(["logout", "jira"], { home });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("secrets removed from the file");
    expect(JSON.parse(readFileSync(join(home, "credentials.json"), "utf8"))).toEqual({});
    expect(JSON.parse(readFileSync(join(home, "config.json"), "utf8")).connections.jira.site).toBe(sb.url);
    expect(scalar(home, "SELECT count(*) FROM issues")).toBe(20);
    const sync = await runCli(["sync"], { home });
    expect(sync.code).toBe(4);
    expect(sync.stderr).toContain("pmsync login jira");
    const st = await runCli(["status", "--json"], { home });
    expect(st.code).toBe(3);
    expect(JSON.parse(st.stdout).connections[0].warnings.join(" ")).toMatch(/no credentials found/);
    const purge = await runCli(["logout", "jira", "--purge"], { home });
    expect(purge.code).toBe(0);
    expect(scalar(home, "SELECT count(*) FROM issues")).toBe(0);
  });

  it("status exits 3 when the last sync failed", async () => {
    const { home, sb } = await syncedHome(20);
    sb.control.fault({ kind: "html", count: 5 });
    expect((await runCli(["sync"], { home })).code).toBe(1);
    const st = await runCli(["status", "--json"], { home });
    expect(st.code).toBe(3);
    expect(JSON.parse(st.stdout).connections[0].warnings[0]).toMatch(/last sync failed/);
  });
});

describe("doctor", () => {
  it("reports a healthy setup: config, cache, keychain, login, clock", async () => {
    const { home } = await syncedHome(20);
    const r = await runCli(["doctor", "--json"], { home });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const checks = JSON.parse(r.stdout) as { check: string; status: string; detail: string; fix: string | null }[];
    const by = (c: string) => checks.find((x) => x.check === c)!;
    expect(by("config").status).toBe("ok");
    expect(by("cache")).toMatchObject({ status: "ok", detail: expect.stringContaining("integrity_check ok") });
    // no D-Bus in the test environment, but this connection keeps its token in the file store
    expect(by("keychain")).toMatchObject({ status: "warn", fix: expect.stringContaining("PMSYNC_TOKEN_") });
    expect(by("connection jira")).toMatchObject({ status: "ok", detail: expect.stringContaining("signed in as") });
    expect(by("clock jira").status).toBe("ok");
  });

  it("warns about clock skew against the server's Date header", async () => {
    const sb = await startSandbox({ issues: 10, now: () => Date.now() + 10 * 60_000 });
    sandboxes.push(sb);
    const home = tempHome();
    await loginSandbox(home, sb);
    const r = await runCli(["doctor"], { home });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/warn\s+clock jira\s+this machine's clock is (599|60\d) s behind/);
    expect(r.stdout).toContain("fix: enable time synchronisation");
  });

  it("finds an unreachable site and a corrupt cache, says what to do, exits 1", async () => {
    const { home, sb } = await syncedHome(10);
    await sb.close();
    const down = await runCli(["doctor"], { home });
    expect(down.code).toBe(1);
    expect(down.stdout).toMatch(/FAIL\s+connection jira .*connection refused/);
    writeFileSync(join(home, "pmsync.db"), "not a database at all".repeat(100));
    const corrupt = await runCli(["doctor"], { home });
    expect(corrupt.code).toBe(1);
    expect(corrupt.stdout).toMatch(/FAIL\s+cache .*not a SQLite database/);
  });
});

describe("safety", () => {
  it("--verbose shows requests with no secret in them", async () => {
    const { home, sb } = await syncedHome(20);
    const r = await runCli(["sync", "--verbose"], { home });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("POST");
    expect(r.stderr).toContain("/rest/api/3/search/jql");
    const basic = Buffer.from(`${sb.email}:${sb.apiToken}`).toString("base64");
    for (const secret of [sb.apiToken, basic]) {
      expect(r.stderr).not.toContain(secret);
      expect(r.stdout).not.toContain(secret);
    }
  });

  it("a corrupt cache is reported and left untouched", async () => {
    const { home } = await syncedHome(20);
    const db = join(home, "pmsync.db");
    writeFileSync(db, Buffer.from("garbage".repeat(1000)));
    const before = createHash("sha256").update(readFileSync(db)).digest("hex");
    for (const args of [["sync"], ["status"], ["export"]]) {
      const r = await runCli(args, { home });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/not a SQLite database.*left it untouched/);
    }
    expect(createHash("sha256").update(readFileSync(db)).digest("hex")).toBe(before);
  });
});

describe("demo", () => {
  it("runs the main job on the sandbox: login, sync, edit + push with a conflict, status, export, usage", async () => {
    const home = tempHome();
    const r = await runCli(["demo", "--issues", "120"], { home });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/sandbox: full ok: pulled 120, created 120/);
    expect(r.stdout).toMatch(/sandbox: incremental ok: .*updated 5/);
    expect(r.stdout).toMatch(/status: pushed \(To Do → In Progress\)/);
    expect(r.stdout).toMatch(/title: CONFLICT: base .*, local Renamed offline in pmsync, tracker now Renamed in the tracker by a colleague/);
    expect(r.stdout).toContain("key,type,status,status_category,assignee,title");
    expect(r.stdout).toMatch(/sandbox\t\d{4}-\d{2}-\d{2}\t\d+/); // usage, piped: TSV
    // the demo works in its own temporary home, not the caller's
    expect(existsSync(join(home, "config.json"))).toBe(false);
  });
});
