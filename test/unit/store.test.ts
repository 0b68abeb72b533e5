import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { APPLICATION_ID, openStore } from "../../src/store/db.js";
import { StoreError } from "../../src/errors.js";

const dirs: string[] = [];
function dir() {
  const d = mkdtempSync(join(tmpdir(), "pmsync-store-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

describe("openStore", () => {
  it("creates a 0600 WAL database with every SPEC §8 table, marked as pmsync's", async () => {
    const path = join(dir(), "pmsync.db");
    const store = await openStore(path);
    const tables = store.sqlite.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").pluck().all();
    for (const t of ["connections", "projects", "issues", "issue_changes", "field_mappings", "sync_runs", "sync_state", "api_usage", "pending_changes"]) {
      expect(tables).toContain(t);
    }
    expect(store.sqlite.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(store.sqlite.pragma("application_id", { simple: true })).toBe(APPLICATION_ID);
    await store.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // reopening migrates nothing and keeps working
    const again = await openStore(path);
    await again.close();
  });

  it("refuses a file that is not SQLite, and leaves it untouched", async () => {
    const path = join(dir(), "pmsync.db");
    writeFileSync(path, "this is my thesis, not a database".repeat(100));
    const before = sha(path);
    const err = await openStore(path).catch((e) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(/not a SQLite database.*left it untouched/);
    expect(sha(path)).toBe(before);
  });

  it("refuses another application's SQLite database, and leaves it untouched", async () => {
    const path = join(dir(), "other.db");
    const other = new Database(path);
    other.exec("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);");
    other.close();
    const before = sha(path);
    const err = await openStore(path).catch((e) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(/another application.*invoices/);
    expect(sha(path)).toBe(before);
  });

  it("reports a corrupt pmsync cache clearly and does not overwrite it", async () => {
    const path = join(dir(), "pmsync.db");
    const store = await openStore(path);
    store.sqlite.exec("INSERT INTO connections VALUES ('x','jira','s','t','t')");
    store.sqlite.pragma("wal_checkpoint(TRUNCATE)");
    await store.close();
    const bytes = readFileSync(path);
    // keep the header, scribble over the schema page
    for (let i = 100; i < 4096; i++) bytes[i] = 0xff;
    writeFileSync(path, bytes);
    const before = sha(path);
    const err = await openStore(path).catch((e) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(/is corrupt.*left it untouched/);
    expect(sha(path)).toBe(before);
  });
});
