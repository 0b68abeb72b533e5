// Evidence for the scorer (issue 5): the labelled field catalogs in fixtures/mapping/ (three Jira
// sites of different shapes and a Redmine one) are scored, and the `auto` band is measured
// against the labels. An auto-applied mapping must never be wrong (precision 1.0); it should find
// at least 80 % of the fields that have a unified target (recall ≥ 0.8). The figures are printed.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { adapterFor } from "../../src/mapping/adapters.js";
import { scoreFields, scoreStatus, type Scored, type SourceField } from "../../src/mapping/scorer.js";
import { APPLIED_STATES } from "../../src/mapping/targets.js";
import type { StatusCategory } from "../../src/providers/provider.js";

interface FixtureField extends SourceField {
  expect?: string | null;
  values?: unknown[];
  fill?: number;
}
interface Fixture {
  name: string;
  provider: string;
  sampled: number;
  fields: FixtureField[];
  statuses: { name: string; categories: Partial<Record<StatusCategory, number>>; expect: StatusCategory }[];
}

const DIR = join(__dirname, "../../fixtures/mapping");
const fixtures: Fixture[] = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(DIR, f), "utf8")) as Fixture);

/** The values of a field on the sampled issues: its listed values, repeated to `fill` × sampled. */
function samplesOf(fx: Fixture): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  for (const f of fx.fields) {
    const values = f.values ?? [];
    const n = f.fill === undefined ? values.length : Math.round(f.fill * fx.sampled);
    out.set(f.id, values.length ? Array.from({ length: n }, (_, i) => values[i % values.length]) : []);
  }
  return out;
}

interface Tally {
  tp: number;
  fp: number;
  fn: number;
  appliedRight: number;
  appliedWrong: number;
  misses: string[];
  wrong: string[];
}

const tally = (): Tally => ({ tp: 0, fp: 0, fn: 0, appliedRight: 0, appliedWrong: 0, misses: [], wrong: [] });

function count(t: Tally, label: string, expected: string | null, s: Scored): void {
  const auto = s.state === "auto";
  if (auto && s.target === expected) t.tp++;
  if (auto && s.target !== expected) {
    t.fp++;
    t.wrong.push(`${label} → ${s.target} (${s.confidence}), labelled ${expected}`);
  }
  if (expected !== null && !(auto && s.target === expected)) {
    t.fn++;
    t.misses.push(`${label}: ${s.state} ${s.target ?? "—"} (${s.confidence}), labelled ${expected}`);
  }
  if (APPLIED_STATES.has(s.state) && s.target !== null) {
    if (s.target === expected) t.appliedRight++;
    else t.appliedWrong++;
  }
}

function evaluate(fx: Fixture): { fields: Tally; statuses: Tally; rows: number } {
  const adapter = adapterFor(fx.provider);
  const rows = adapter.rowFields(fx.fields);
  const scored = scoreFields(rows, { providerLabel: adapter.label, catalog: fx.fields, native: adapter.native, samples: samplesOf(fx), sampled: fx.sampled });
  const fields = tally();
  rows.forEach((f, i) => {
    const label = (f as FixtureField).expect;
    if (label === undefined) throw new Error(`${fx.name}: field ${f.id} "${f.name}" gets a mapping row but has no label`);
    count(fields, `${f.id} "${f.name}"`, label, scored[i]!);
  });
  const statuses = tally();
  for (const st of fx.statuses) {
    const categories = new Map(Object.entries(st.categories) as [StatusCategory, number][]);
    count(statuses, `status "${st.name}"`, st.expect, scoreStatus({ name: st.name, categories }, adapter.authority, adapter.label));
  }
  return { fields, statuses, rows: rows.length };
}

const precision = (t: Pick<Tally, "tp" | "fp">) => (t.tp + t.fp === 0 ? 1 : t.tp / (t.tp + t.fp));
const recall = (t: Pick<Tally, "tp" | "fn">) => (t.tp + t.fn === 0 ? 1 : t.tp / (t.tp + t.fn));
const sum = (ts: Tally[]): Tally => ts.reduce((a, t) => ({ ...a, tp: a.tp + t.tp, fp: a.fp + t.fp, fn: a.fn + t.fn, appliedRight: a.appliedRight + t.appliedRight, appliedWrong: a.appliedWrong + t.appliedWrong }), tally());
const f2 = (n: number) => n.toFixed(2);

describe("auto band on the labelled fixtures", () => {
  it("has at least three Jira sites of different shapes (one with 300+ custom fields and duplicate names) and a Redmine one", () => {
    expect(fixtures.filter((f) => f.provider === "jira").length).toBeGreaterThanOrEqual(3);
    expect(fixtures.some((f) => f.provider === "redmine")).toBe(true);
    const large = fixtures.find((f) => f.fields.filter((x) => x.custom).length >= 300);
    expect(large).toBeDefined();
    const names = large!.fields.map((f) => f.name);
    expect(new Set(names).size).toBeLessThan(names.length);
  });

  it("never auto-maps wrongly (precision 1.0) and finds at least 80 % of the mappable fields (recall ≥ 0.8)", () => {
    const results = fixtures.map((fx) => ({ fx, ...evaluate(fx) }));
    const lines = ["", "Mapping scorer, auto band (≥ 0.95) against the labels", ""];
    const row = (name: string, t: Tally, n: string) =>
      `${name.padEnd(24)} ${n.padStart(6)}  TP ${String(t.tp).padStart(2)}  FP ${String(t.fp).padStart(2)}  FN ${String(t.fn).padStart(2)}  precision ${f2(precision(t))}  recall ${f2(recall(t))}  applied (auto+suggested) right ${t.appliedRight}, wrong ${t.appliedWrong}`;
    lines.push("fields");
    for (const r of results) lines.push(row(r.fx.name, r.fields, `${r.rows}`));
    const fields = sum(results.map((r) => r.fields));
    lines.push(row("all fields", fields, `${results.reduce((n, r) => n + r.rows, 0)}`));
    lines.push("statuses");
    for (const r of results) lines.push(row(r.fx.name, r.statuses, `${r.fx.statuses.length}`));
    const statuses = sum(results.map((r) => r.statuses));
    lines.push(row("all statuses", statuses, `${results.reduce((n, r) => n + r.fx.statuses.length, 0)}`));
    const both = sum([fields, statuses]);
    lines.push(row("fields + statuses", both, ""));
    lines.push("", "not auto-mapped although labelled:");
    for (const r of results) for (const m of [...r.fields.misses, ...r.statuses.misses]) lines.push(`  ${r.fx.name}: ${m}`);
    for (const r of results) for (const w of [...r.fields.wrong, ...r.statuses.wrong]) lines.push(`  WRONG ${r.fx.name}: ${w}`);
    console.log(lines.join("\n"));

    for (const r of results) {
      expect(r.fields.wrong, r.fx.name).toEqual([]);
      expect(r.statuses.wrong, r.fx.name).toEqual([]);
    }
    expect(precision(fields)).toBe(1);
    expect(precision(statuses)).toBe(1);
    expect(recall(fields)).toBeGreaterThanOrEqual(0.8);
    expect(recall(both)).toBeGreaterThanOrEqual(0.8);
  });
});

describe("the scorer", () => {
  it("is deterministic and explains every score", () => {
    for (const fx of fixtures) {
      const adapter = adapterFor(fx.provider);
      const rows = adapter.rowFields(fx.fields);
      const run = () => scoreFields(rows, { providerLabel: adapter.label, catalog: fx.fields, native: adapter.native, samples: samplesOf(fx), sampled: fx.sampled });
      const a = run();
      expect(run()).toEqual(a);
      for (const s of a) {
        expect(s.reasons.length, s.source_id).toBeGreaterThan(0);
        for (const c of s.candidates) {
          expect(c.reasons.length).toBeGreaterThan(0);
          expect(c.confidence).toBeGreaterThanOrEqual(0);
          expect(c.confidence).toBeLessThanOrEqual(1);
          expect(Math.round(c.confidence * 100) / 100).toBe(c.confidence);
        }
        // Top candidate first.
        expect([...s.candidates].sort((x, y) => y.confidence - x.confidence)[0]!.confidence).toBe(s.candidates[0]!.confidence);
      }
    }
  });

  it("keeps duplicate names out of the auto band unless every twin's values confirm the same target", () => {
    const large = fixtures.find((f) => f.name === "jira-large")!;
    const adapter = adapterFor("jira");
    const rows = adapter.rowFields(large.fields);
    const scored = scoreFields(rows, { providerLabel: "Jira", catalog: large.fields, native: adapter.native, samples: samplesOf(large), sampled: large.sampled });
    const named = (n: string) => scored.filter((s) => s.source_name === n);
    for (const team of named("Team")) expect(team.state).toBe("unmapped");
    expect(named("Story Points").map((s) => s.state)).toEqual(["auto", "auto"]);
    expect(named("Story Points (old)")[0]!.state).toBe("unmapped");
    expect(named("Due Date")[0]!.reasons.join(" ")).toContain("share the name");
    // Custom slugs of same-named fields stay apart.
    const slugs = named("Team").map((s) => s.candidates.find((c) => c.target.startsWith("custom."))!.target);
    expect(new Set(slugs).size).toBe(slugs.length);
  });

  it("reads Redmine custom values from `custom_fields` and scores open/closed statuses by name", () => {
    const redmine = adapterFor("redmine");
    const raw = { id: 1, start_date: "2026-11-22", custom_fields: [{ id: 1, name: "Customer Ref", value: "CUST-1" }, { id: 2, name: "Story points", value: "" }] };
    const field = (id: string) => ({ id, name: id, type: "string", custom: true, schema: null });
    expect(redmine.value(raw, field("custom_fields.1"))).toBe("CUST-1");
    expect(redmine.value(raw, field("custom_fields.2"))).toBeNull();
    expect(redmine.value(raw, field("start_date"))).toBe("2026-11-22");
    const closed = scoreStatus({ name: "Rejected", categories: new Map([["cancelled", 3]]) }, "closed-only", "Redmine");
    expect(closed).toMatchObject({ state: "auto", target: "cancelled" });
    const resolved = scoreStatus({ name: "Resolved", categories: new Map([["in_progress", 3]]) }, "closed-only", "Redmine");
    expect(resolved.state).toBe("unmapped");
    expect(resolved.candidates.map((c) => c.target)).toEqual(expect.arrayContaining(["done", "in_progress"]));
  });
});
