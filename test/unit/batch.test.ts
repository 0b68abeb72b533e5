// Pages committed in batches (SyncStore.writePage with `commit: false`): another connection sees
// a batch only once it commits, with the cursor of its last page; a write that fails rolls the
// whole open batch back, cursor included, and leaves the store ready for the next page.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/core/hash.js";
import type { NormalisedIssue } from "../../src/providers/provider.js";
import { openStore, type Store } from "../../src/store/db.js";
import { SyncStore, type PreparedRecord } from "../../src/store/sync-store.js";

const opened: { store: Store; dir: string; other: Database.Database }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    o.other.close();
    await o.store.close();
    rmSync(o.dir, { recursive: true, force: true });
  }
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "pmsync-batch-"));
  const store = await openStore(join(dir, "pmsync.db"));
  const sync = new SyncStore(store);
  sync.upsertConnection("jira", "jira", "https://x.atlassian.net");
  sync.acquireLock("jira");
  const other = new Database(join(dir, "pmsync.db"), { readonly: true });
  opened.push({ store, dir, other });
  const seen = () => ({
    ids: (other.prepare("SELECT id FROM issues ORDER BY id").pluck().all() as string[]).join(","),
    cursor: other.prepare("SELECT cursor FROM sync_state WHERE connection = 'jira'").pluck().get() as string | null,
  });
  return { sync, seen };
}

function record(id: string, key: string | null = `P-${id}`): PreparedRecord {
  const raw = Buffer.from(JSON.stringify({ id, key }));
  const issue = { id, key, url: null, project: "P", title: `issue ${id}`, labels: [] } as unknown as NormalisedIssue;
  return { issue, updatedMs: Number(id), raw, hash: sha256Hex(raw) };
}

function page(sync: SyncStore, records: PreparedRecord[], cursor: string, commit: boolean) {
  return sync.writePage({
    connection: "jira",
    provider: "jira",
    runId: 1,
    records,
    usage: [],
    cursor,
    trackSeen: false,
    knownProjects: new Set(),
    rawChanges: () => [],
    dryRun: false,
    commit,
  });
}

describe("batched page writes", () => {
  it("another connection sees a batch only when it commits, with its last page's cursor", async () => {
    const { sync, seen } = await setup();
    page(sync, [record("1"), record("2")], "2026-01-01T00:00:00.000Z", false);
    expect(seen()).toEqual({ ids: "", cursor: null });
    page(sync, [record("3")], "2026-01-02T00:00:00.000Z", true);
    expect(seen()).toEqual({ ids: "1,2,3", cursor: "2026-01-02T00:00:00.000Z" });
  });

  it("a failed write rolls the open batch back, cursor included, and the next page writes", async () => {
    const { sync, seen } = await setup();
    page(sync, [record("1")], "2026-01-01T00:00:00.000Z", true);
    page(sync, [record("2")], "2026-01-02T00:00:00.000Z", false);
    // `key` is NOT NULL: this page fails in the middle of the batch.
    expect(() => page(sync, [record("3"), record("4", null)], "2026-01-03T00:00:00.000Z", true)).toThrow(/NOT NULL/);
    expect(seen()).toEqual({ ids: "1", cursor: "2026-01-01T00:00:00.000Z" });
    // Nothing of the failed batch is left open to be committed with the next page.
    page(sync, [record("2")], "2026-01-02T00:00:00.000Z", true);
    expect(seen()).toEqual({ ids: "1,2", cursor: "2026-01-02T00:00:00.000Z" });
  });

  it("commitBatch commits pages left open, and does nothing when none are", async () => {
    const { sync, seen } = await setup();
    sync.commitBatch();
    page(sync, [record("1")], "2026-01-01T00:00:00.000Z", false);
    sync.commitBatch();
    expect(seen()).toEqual({ ids: "1", cursor: "2026-01-01T00:00:00.000Z" });
  });
});
