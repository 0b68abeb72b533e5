import { describe, expect, it } from "vitest";
import { buildJql } from "../../src/providers/jira/index.js";
import { statusCategory } from "../../src/providers/jira/normalise.js";
import { knownFields, toFieldDef } from "../../src/providers/jira/fields.js";

describe("buildJql", () => {
  it("sends the incremental bound as epoch milliseconds, rounded down to the minute", () => {
    const since = Date.UTC(2026, 0, 10, 17, 30, 45, 123);
    expect(buildJql({ mode: "incremental", sinceMs: since, projects: [] })).toBe(
      `updated >= ${Date.UTC(2026, 0, 10, 17, 30)} ORDER BY updated ASC, key ASC`,
    );
  });
  it("bounds a full pull so enhanced search accepts it, and scopes projects", () => {
    expect(buildJql({ mode: "full", sinceMs: null, projects: ["ENG", "OPS"] })).toBe(
      'project in ("ENG", "OPS") AND created >= "1970-01-01" ORDER BY updated ASC, key ASC',
    );
  });
});

describe("statusCategory (SPEC §10)", () => {
  const st = (key: string, resolution?: string) => ({ status: { statusCategory: { key } }, resolution: resolution ? { name: resolution } : null });
  it("maps Jira's own category keys", () => {
    expect(statusCategory(st("new"))).toBe("todo");
    expect(statusCategory(st("indeterminate"))).toBe("in_progress");
    expect(statusCategory(st("done", "Done"))).toBe("done");
    expect(statusCategory(st("undefined"))).toBeNull();
  });
  it("is cancelled for Won't Do, Won't Fix, Duplicate, Cannot Reproduce, Declined", () => {
    for (const r of ["Won't Do", "Won’t Fix", "Duplicate", "Cannot Reproduce", "Declined"]) expect(statusCategory(st("done", r))).toBe("cancelled");
  });
});

describe("knownFields", () => {
  it("finds sprint and story points by schema type, not by id", () => {
    const catalog = [
      { id: "customfield_10020", name: "Sprint", custom: true, schema: { type: "array", items: "json", custom: "com.pyxis.greenhopper.jira:gh-sprint", customId: 10020 } },
      { id: "customfield_10016", name: "Story point estimate", custom: true, schema: { type: "number", custom: "com.pyxis.greenhopper.jira:jsw-story-points", customId: 10016 } },
      { id: "customfield_10026", name: "Story Points", custom: true, schema: { type: "number", custom: "com.atlassian.jira.plugin.system.customfieldtypes:float", customId: 10026 } },
      { id: "customfield_10099", name: "Team", custom: true, schema: { type: "string", custom: "com.atlassian.jira.plugin.system.customfieldtypes:textfield" } },
    ].map(toFieldDef);
    expect(knownFields(catalog)).toEqual({ sprint: "customfield_10020", storyPoints: ["customfield_10016", "customfield_10026"] });
    expect(catalog[0]!.type).toBe("array<json>");
  });
});

describe("parseRemoteTime", async () => {
  const { parseRemoteTime } = await import("../../src/core/time.js");
  it("reads Jira's offset timestamps exactly like Date.parse of the ISO form", () => {
    for (const s of ["2026-03-04T09:15:27.123-0800", "2026-03-04T09:15:27.5+0530", "2026-12-31T23:59:59.999+0000", "2026-01-01T00:00:00-02:30", "2026-03-04T09:15:27.123Z"]) {
      expect(parseRemoteTime(s)).toBe(Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, "$1:$2")));
    }
    expect(parseRemoteTime("not a date")).toBeNull();
  });
});
