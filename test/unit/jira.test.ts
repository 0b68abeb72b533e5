import { describe, expect, it } from "vitest";
import { buildJql, jira } from "../../src/providers/jira/index.js";
import { continuationOf, peekContinuation } from "../../src/providers/jira/client.js";
import { MalformedBodyError } from "../../src/errors.js";
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

describe("peekContinuation (reading the next page's token before the page is parsed)", () => {
  const peek = (page: unknown, spacing?: number) => peekContinuation(Buffer.from(JSON.stringify(page, null, spacing)));
  const issue = { id: "1", key: "ENG-1", fields: { summary: 'says "nextPageToken" and "isLast"' } };
  it("agrees with the parsed page: token, last page, no token, empty token, whitespace, escapes", () => {
    const pages = [
      { issues: [issue], nextPageToken: "abc", isLast: false },
      { issues: [issue], nextPageToken: "abc", isLast: true },
      { issues: [issue], isLast: true },
      { issues: [issue] },
      { issues: [issue], nextPageToken: "" },
      { issues: [issue], nextPageToken: 'a"b\\c/é', isLast: false },
      { nextPageToken: "first", issues: [issue] },
    ];
    for (const page of pages) {
      for (const spacing of [undefined, 2]) expect(peek(page, spacing)).toBe(continuationOf(page as never));
    }
  });
  it("is unsure (undefined) when the key also appears as a plain value after the real one", () => {
    expect(peek({ nextPageToken: "t", issues: [{ id: "1", key: "K-1", fields: { labels: ["nextPageToken"] } }] })).toBeUndefined();
  });
  it("a misread is caught when the page is decoded, not written", () => {
    const provider = jira.create({
      connectionName: "j",
      config: { provider: "jira", site: "https://x.atlassian.net" } as never,
      secret: { kind: "token", token: "t" } as never,
      http: null as never,
    });
    const body = Buffer.from(JSON.stringify({ issues: [], nextPageToken: "real" }));
    const request = { mode: "full" as const, sinceMs: null, projects: [], catalog: [] };
    expect([...provider.split!.decodePage({ body, next: "real" }, request).records]).toEqual([]);
    expect(() => provider.split!.decodePage({ body, next: null }, request)).toThrow(/nextPageToken was misread/);
    expect(() => provider.split!.decodePage({ body: Buffer.from('{"issues": [}'), next: null }, request)).toThrow(MalformedBodyError);
  });
});
