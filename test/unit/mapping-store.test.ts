// Mappings against a real cache file: scoring after a sync, decisions that persist, re-deriving
// the mapped columns and custom.<slug> values from stored payloads (no tracker involved), restoring
// the provider's values, the change log of a later sync, and asking again only when a field's
// schema changes.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex } from "../../src/core/hash.js";
import { decide, findRow, resetMappings, saveDecisions, stateFor } from "../../src/mapping/decisions.js";
import { refreshMappings } from "../../src/mapping/refresh.js";
import { inReview, readRows, REVIEW_SQL } from "../../src/mapping/store.js";
import type { JiraField } from "../../src/providers/jira/client.js";
import { knownFields, toFieldDef } from "../../src/providers/jira/fields.js";
import { normaliseIssue } from "../../src/providers/jira/normalise.js";
import type { FieldDef } from "../../src/providers/provider.js";
import { fieldCatalogJson } from "../../src/sandbox/catalog.js";
import { openStore, type Store } from "../../src/store/db.js";
import { SyncStore } from "../../src/store/sync-store.js";

const SITE = "https://acme.atlassian.net";
const stores: { store: Store; dir: string }[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) {
    await s.store.close();
    rmSync(s.dir, { recursive: true, force: true });
  }
});

/** A fresh cache file, migrated as `openStore` always does. */
async function cache(): Promise<{ store: Store; sync: SyncStore }> {
  const dir = mkdtempSync(join(tmpdir(), "pmsync-mapping-"));
  const store = await openStore(join(dir, "pmsync.db"));
  stores.push({ store, dir });
  const sync = new SyncStore(store);
  sync.upsertConnection("jira", "jira", SITE);
  return { store, sync };
}

const CATALOG: FieldDef[] = (fieldCatalogJson() as JiraField[]).map(toFieldDef);
const STATUS = {
  todo: { name: "To Do", statusCategory: { key: "new" } },
  progress: { name: "In Progress", statusCategory: { key: "indeterminate" } },
  review: { name: "In Review", statusCategory: { key: "indeterminate" } },
  done: { name: "Done", statusCategory: { key: "done" } },
};

function issue(n: number, fields: Record<string, unknown>, minute = n): Record<string, unknown> {
  return {
    id: String(10000 + n),
    key: `ENG-${n}`,
    fields: {
      summary: `Issue ${n}`,
      status: STATUS.progress,
      issuetype: { name: "Story" },
      project: { key: "ENG", id: "1", name: "Engineering" },
      priority: { name: "Medium" },
      labels: [],
      created: "2026-01-01T00:00:00.000+0000",
      updated: `2026-03-01T10:${String(minute).padStart(2, "0")}:00.000+0000`,
      ...fields,
    },
  };
}

let run = 0;
/** What a sync writes: the provider's normalised columns and the raw payload, one page. */
function write(sync: SyncStore, raws: Record<string, unknown>[], catalog = CATALOG, fp = "catalog-1"): void {
  sync.saveCatalog("jira", catalog, fp);
  const known = knownFields(catalog);
  const records = raws.map((raw) => {
    const rec = normaliseIssue(raw, SITE, known);
    const bytes = Buffer.from(canonicalJson(raw));
    return { issue: rec.issue, updatedMs: rec.updatedMs, raw: bytes, hash: sha256Hex(bytes), ...(rec.projectInfo ? { project: rec.projectInfo } : {}) };
  });
  sync.writePage({
    connection: "jira",
    provider: "jira",
    runId: ++run,
    records,
    usage: [],
    cursor: null,
    trackSeen: false,
    knownProjects: new Set(),
    rawChanges: () => [],
    dryRun: false,
  });
}

const sprint = (name: string, state: string) => [{ id: 1, name, state, boardId: 3 }];
const team = (value: string) => ({ id: "10020", value });

function columns(store: Store, key: string) {
  return store.sqlite.prepare("SELECT story_points, sprint, priority, status_category, labels, custom, provider_values FROM issues WHERE key = ?").get(key) as {
    story_points: number | null;
    sprint: string | null;
    priority: string | null;
    status_category: string | null;
    labels: string;
    custom: string;
    provider_values: string | null;
  };
}

const changes = (store: Store) => (store.sqlite.prepare("SELECT total_changes()").pluck().get() as number);

function decideBy(store: Store, field: string, target: string | null) {
  const row = findRow(readRows(store.sqlite, "jira"), "jira", field);
  const next = target === null ? decide(row, "ignored", null) : decide(row, stateFor(row, target), target);
  return saveDecisions(store.sqlite, "jira", "jira", [next]);
}

const baseIssues = () => [
  issue(1, { customfield_10016: 3, customfield_10020: sprint("ENG Sprint 7", "active"), customfield_10040: team("Platform") }),
  issue(2, { customfield_10026: 5, customfield_10042: { id: "10031", value: "S2 - Major" } }),
  issue(3, { status: STATUS.done, resolution: { name: "Won't Do" }, customfield_10016: 8 }),
  issue(4, { status: STATUS.review, customfield_10040: team("Payments") }),
  issue(8, { status: STATUS.done, resolution: { name: "Done" } }),
];

describe("refreshMappings after a sync", () => {
  it("scores the catalog and statuses; a mapping equal to the provider's own changes no row; a second refresh does nothing", async () => {
    const { store, sync } = await cache();
    write(sync, baseIssues());
    const first = refreshMappings(store, "jira", "jira");
    expect(first.added).toBeGreaterThan(10);
    const rows = readRows(store.sqlite, "jira");
    const by = (id: string) => rows.find((r) => r.source_id === id)!;
    expect(by("customfield_10016")).toMatchObject({ state: "auto", target: "story_points", confidence: 1 });
    expect(by("customfield_10020")).toMatchObject({ state: "auto", target: "sprint" });
    expect(by("customfield_10026")).toMatchObject({ state: "auto", target: "story_points" });
    expect(by("customfield_10040")).toMatchObject({ state: "unmapped", target: null });
    expect(by("customfield_10040").candidates[0]!.target).toBe("custom.team_10040"); // two fields are named Team
    expect(by("status:In Review")).toMatchObject({ state: "auto", target: "in_progress", confidence: 1, source_type: "status" });
    for (const r of rows) {
      expect(r.reasons.length).toBeGreaterThan(0);
      expect(r.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    }
    // System fields Jira maps itself get no row.
    expect(rows.some((r) => ["summary", "duedate", "priority", "labels"].includes(r.source_id))).toBe(false);
    expect(columns(store, "ENG-2")).toMatchObject({ story_points: 5, provider_values: null, custom: "{}" });

    const before = changes(store);
    expect(refreshMappings(store, "jira", "jira")).toEqual({ added: 0, rescored: 0 });
    expect(changes(store)).toBe(before);
    // `status` counts what review will ask about with the same test.
    const queued = store.sqlite.prepare(`SELECT count(*) FROM field_mappings WHERE connection = 'jira' AND ${REVIEW_SQL}`).pluck().get();
    expect(queued).toBe(rows.filter(inReview).length);
  });

  it("re-derives mapped columns and custom.<slug> values from stored payloads, and restores the provider's values", async () => {
    const { store, sync } = await cache();
    write(sync, baseIssues());
    refreshMappings(store, "jira", "jira");

    // Not story points after all: ENG-2's only point value came from it.
    expect(decideBy(store, "customfield_10026", null).changed).toBe(1);
    expect(columns(store, "ENG-2")).toMatchObject({ story_points: null });
    expect(JSON.parse(columns(store, "ENG-2").provider_values!)).toMatchObject({ values: { story_points: 5 } });
    expect(columns(store, "ENG-1").story_points).toBe(3);

    decideBy(store, "customfield_10040", "custom.team");
    expect(JSON.parse(columns(store, "ENG-1").custom)).toEqual({ team: "Platform" });
    expect(JSON.parse(columns(store, "ENG-4").custom)).toEqual({ team: "Payments" });
    expect(columns(store, "ENG-2").custom).toBe("{}");

    // A custom field overriding Jira's own priority where it has a value.
    decideBy(store, "Severity", "priority");
    expect(columns(store, "ENG-2").priority).toBe("S2 - Major");
    expect(columns(store, "ENG-1").priority).toBe("Medium");

    // A status decision overrides the category of its issues; approving pmsync's proposal for Done
    // (Jira's own category) keeps the issues the resolution made cancelled.
    decideBy(store, "In Review", "done");
    decideBy(store, "status:Done", "done");
    expect(columns(store, "ENG-4").status_category).toBe("done");
    expect(columns(store, "ENG-3").status_category).toBe("cancelled");
    expect(columns(store, "ENG-8").status_category).toBe("done");
    const kept = readRows(store.sqlite, "jira").filter((r) => r.decided_at !== null);
    expect(kept.map((r) => r.state).sort()).toEqual(["approved", "ignored", "manual", "manual", "manual"]);

    // Decisions survive re-scoring.
    write(sync, [issue(5, { customfield_10026: 2 })]);
    refreshMappings(store, "jira", "jira");
    expect(readRows(store.sqlite, "jira").filter((r) => r.decided_at !== null).map((r) => r.state).sort()).toEqual(kept.map((r) => r.state).sort());
    expect(columns(store, "ENG-5").story_points).toBeNull();

    // Reset: every decision goes, the provider's own values come back.
    expect(resetMappings(store.sqlite, "jira", "jira").dropped).toBe(5);
    expect(columns(store, "ENG-2")).toMatchObject({ story_points: 5, priority: "Medium", custom: "{}", provider_values: null });
    expect(columns(store, "ENG-4").status_category).toBe("in_progress");
    expect(columns(store, "ENG-1").custom).toBe("{}");
    expect(readRows(store.sqlite, "jira").some((r) => r.decided_at !== null)).toBe(false);
  });

  it("counts a status under the provider's own category where a mapping overrode it, from the index alone or the rows written since", async () => {
    const { store, sync } = await cache();
    write(sync, [...baseIssues(), issue(9, { status: STATUS.review })]);
    refreshMappings(store, "jira", "jira");
    decideBy(store, "In Review", "done");
    expect(columns(store, "ENG-4").status_category).toBe("done");
    const inReview = () => readRows(store.sqlite, "jira").find((r) => r.source_id === "status:In Review")!;
    const decided = inReview();
    expect(decided.state).toBe("manual");

    // Every issue counts (as on the first refresh of a connection): the two overridden issues
    // still count as Jira's in_progress, so the decision is not asked again.
    store.sqlite.prepare("UPDATE mapping_state SET derived_through = NULL WHERE connection = 'jira'").run();
    expect(refreshMappings(store, "jira", "jira").rescored).toBe(0);
    expect(inReview()).toEqual(decided);

    // Only the issues written since: a new one in review, and an overridden one rewritten by a sync.
    write(sync, [issue(10, { status: STATUS.review }), issue(9, { status: STATUS.review, summary: "Edited" }, 40)]);
    expect(refreshMappings(store, "jira", "jira").rescored).toBe(0);
    expect(inReview()).toEqual(decided);

    // Jira moving the status to another category is a real change: asked again.
    const moved = { name: "In Review", statusCategory: { key: "done" } };
    write(sync, [issue(4, { status: moved }, 41), issue(9, { status: moved }, 42), issue(10, { status: moved }, 43)]);
    expect(refreshMappings(store, "jira", "jira").rescored).toBe(1);
    expect(inReview().reasons[0]).toMatch(/^asked again: Jira changed the category of "In Review"/);
  });

  it("after a sync rewrites an issue, only that issue is re-derived and its change log shows mapped values", async () => {
    const { store, sync } = await cache();
    write(sync, baseIssues());
    refreshMappings(store, "jira", "jira");
    decideBy(store, "customfield_10026", null);
    decideBy(store, "customfield_10040", "custom.team");

    // The tracker changed ENG-2 (title and the ignored field) and ENG-1's team.
    const next = baseIssues();
    next[1] = issue(2, { summary: "Renamed", customfield_10026: 8, customfield_10042: { id: "10031", value: "S2 - Major" } }, 30);
    next[0] = issue(1, { customfield_10016: 3, customfield_10020: sprint("ENG Sprint 7", "active"), customfield_10040: team("Growth") }, 31);
    const written = new Date().toISOString();
    write(sync, [next[0]!, next[1]!]);
    // The sync itself wrote the provider's values …
    expect(columns(store, "ENG-2").story_points).toBe(8);
    refreshMappings(store, "jira", "jira");
    // … the refresh puts the mapped ones back, and the new custom value.
    expect(columns(store, "ENG-2").story_points).toBeNull();
    expect(JSON.parse(columns(store, "ENG-1").custom)).toEqual({ team: "Growth" });
    const log = store.sqlite.prepare("SELECT key, field, old_value, new_value FROM issue_changes WHERE changed_at >= ? ORDER BY key, field").all(written) as {
      key: string;
      field: string;
    }[];
    expect(log.some((e) => e.key === "ENG-2" && e.field === "title")).toBe(true);
    expect(log.some((e) => e.field === "story_points")).toBe(false);
  });

  it("asks again only about a decided field whose schema changed (renamed or retyped)", async () => {
    const { store, sync } = await cache();
    write(sync, baseIssues());
    refreshMappings(store, "jira", "jira");
    decideBy(store, "customfield_10040", "custom.team");
    decideBy(store, "customfield_10045", null);

    const renamed = CATALOG.map((f) => (f.id === "customfield_10040" ? { ...f, name: "Squad" } : f));
    write(sync, [issue(6, {})], renamed, "catalog-2");
    const r = refreshMappings(store, "jira", "jira");
    expect(r.rescored).toBeGreaterThanOrEqual(1);
    const rows = readRows(store.sqlite, "jira");
    const squad = rows.find((x) => x.source_id === "customfield_10040")!;
    expect(squad.source_name).toBe("Squad");
    expect(["suggested", "unmapped"]).toContain(squad.state);
    expect(squad.reasons[0]).toBe('asked again: the field changed (renamed from "Team"); your decision was manual → custom.team');
    expect(inReview(squad)).toBe(true);
    expect(rows.find((x) => x.source_id === "customfield_10045")!.state).toBe("ignored");
    // Nothing else changed: nothing new to ask on the next refresh.
    write(sync, [issue(7, {})], renamed, "catalog-2");
    expect(refreshMappings(store, "jira", "jira").rescored).toBe(0);

    // Deciding again takes it off the queue.
    decideBy(store, "Squad", "custom.squad");
    expect(inReview(readRows(store.sqlite, "jira").find((x) => x.source_id === "customfield_10040")!)).toBe(false);
  });
});
