import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex, stripPaths } from "../../src/core/hash.js";
import { packedPage, preparePage, splitPaths, unpackPage, type PreparedPage } from "../../src/core/prepare.js";
import type { NormalisedIssue, PulledRecord } from "../../src/providers/provider.js";

const provider = { volatilePaths: ["fields.lastViewed"], ignoredKeys: new Set(["self"]) };

/** Every field distinct, so a value read from the wrong place shows. */
function record(n: number, project: boolean): PulledRecord {
  const issue: NormalisedIssue = {
    id: `id-${n}`, key: `P-${n}`, url: `https://x/browse/P-${n}`, project: "P", type: `type-${n}`, title: `title ${n} é`,
    description: `line 1\nline 2 of ${n}`, status: `status-${n}`, status_category: "in_progress", priority: `prio-${n}`,
    assignee: `assignee-${n}`, reporter: `reporter-${n}`, labels: [`l${n}`, "ü"], parent: `P-${n - 1}`, sprint: `sprint-${n}`,
    story_points: n + 0.5, due_date: `2026-01-${String(n).padStart(2, "0")}`, created_at: `2025-01-0${n}T00:00:00.000Z`,
    updated_at: `2025-02-0${n}T00:00:00.000Z`, resolved_at: n % 2 ? null : `2025-03-0${n}T00:00:00.000Z`,
  };
  return {
    issue,
    updatedMs: 1_700_000_000_000 + n,
    raw: { id: issue.id, self: "https://x/rest/api/3/issue/1", fields: { summary: issue.title, lastViewed: "now", b: [n], a: { z: 1, y: "ß" } } },
    ...(project ? { projectInfo: { key: "P", id: "10000", name: "Project P" } } : {}),
  };
}

describe("packedPage / unpackPage", () => {
  it("give back every issue field in its place, the canonical payload, its hash and the project", () => {
    const make = () => ({ records: [1, 2, 3, 4].map((n) => record(n, n !== 3)) });
    const volatile = splitPaths(provider.volatilePaths);
    // Written out from the records themselves: what the store must receive.
    const expected = make().records.map((rec) => {
      stripPaths(rec.raw, volatile);
      const raw = canonicalJson(rec.raw, provider.ignoredKeys);
      return { issue: rec.issue, updatedMs: rec.updatedMs, raw, hash: sha256Hex(Buffer.from(raw)), ...(rec.projectInfo ? { project: rec.projectInfo } : {}) };
    });
    const text = (page: PreparedPage) => page.records.map((r) => ({ ...r, raw: Buffer.from(r.raw).toString() }));
    // Across a thread the page is structured-cloned; the clone keeps values, not identity.
    const unpacked = unpackPage(structuredClone(packedPage(make(), provider, volatile)));
    expect(unpacked.maxUpdatedMs).toBe(1_700_000_000_004);
    expect(text(unpacked)).toEqual(expected);
    expect(Buffer.from(unpacked.records[0]!.raw).toString()).toBe('{"fields":{"a":{"y":"ß","z":1},"b":[1],"summary":"title 1 é"},"id":"id-1"}');
    // The in-process path (tests with an injected HTTP dispatcher) gives the same.
    const inProcess = preparePage(make(), provider, volatile);
    expect(inProcess.maxUpdatedMs).toBe(1_700_000_000_004);
    expect(text(inProcess)).toEqual(expected);
  });
});
