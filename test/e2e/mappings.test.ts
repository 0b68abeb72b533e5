// `pmsync mappings …` end to end against the sandbox: after a sync the messy custom fields are
// mapped with confidence and reasons, `mappings review` runs in a real pseudo-terminal (keys typed,
// screen read) and asks only about the uncertain ones, answers persist and reach the export, a
// second sync asks nothing new, and without a terminal review exits 2 naming the other commands.

import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { MappingJson } from "../../src/commands/mappings.js";
import { FIELD_TARGETS } from "../../src/mapping/targets.js";
import { startSandbox, type SandboxHandle } from "../../src/sandbox/index.js";
import { loginSandbox, runCli, syncJson, tempHome, type CliOptions } from "../helpers/cli.js";
import { spawnPty } from "../helpers/pty.js";

const sandboxes: SandboxHandle[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

const cli = (args: string[], opts: CliOptions) => runCli(args, opts);
const pty = (args: string[], opts: CliOptions) => spawnPty(args, opts);

/** A cache synced from a fresh sandbox (its size: `issues`), mappings ready. */
async function syncedHome(issues = 150): Promise<{ home: string }> {
  const sb = await startSandbox({ issues });
  sandboxes.push(sb);
  const home = tempHome();
  await loginSandbox(home, sb);
  expect((await syncJson(home)).result.code).toBe(0);
  return { home };
}

type Mapping = MappingJson;

async function list(home: string): Promise<Mapping[]> {
  const r = await cli(["mappings", "list", "jira", "--json"], { home });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Mapping[];
}

const awaiting = (ms: Mapping[]) => ms.filter((m) => m.state === "suggested" || (m.state === "unmapped" && m.confidence >= 0.5));

describe("mappings after a sync of the sandbox", () => {
  it("lists sensible auto-mappings with confidence and reasons, in the SPEC §10 shape; table when piped", async () => {
    const { home } = await syncedHome();
    const ms = await list(home);
    for (const m of ms) {
      expect(Object.keys(m)).toEqual(["connection", "source_id", "source_name", "source_type", "target", "confidence", "state", "reasons", "candidates"]);
      expect(m.confidence).toBeGreaterThanOrEqual(0);
      expect(m.confidence).toBeLessThanOrEqual(1);
      expect(m.reasons.length).toBeGreaterThan(0);
      for (const c of m.candidates) expect(Object.keys(c)).toEqual(["target", "confidence", "reasons"]);
      expect(["auto", "suggested", "unmapped", "approved", "manual", "ignored"]).toContain(m.state);
    }
    const by = (id: string) => ms.find((m) => m.source_id === id)!;
    expect(by("customfield_10016")).toMatchObject({ target: "story_points", state: "auto", confidence: 1 });
    expect(by("customfield_10026")).toMatchObject({ target: "story_points", state: "auto" });
    expect(by("customfield_10020")).toMatchObject({ target: "sprint", state: "auto" });
    expect(by("customfield_10019")).toMatchObject({ target: null, state: "unmapped" }); // Rank: Jira machinery
    // The two "Team" fields: not guessed, distinct custom columns offered.
    expect(by("customfield_10040").state).toBe("unmapped");
    expect(by("customfield_10040").candidates[0]!.target).toBe("custom.team_10040");
    expect(by("customfield_10041").candidates[0]!.target).toBe("custom.team_10041");
    // QA Owner is a person, but not the assignee: only a candidate.
    expect(by("customfield_10045").target).toBeNull();
    // Statuses map to categories; Jira's own category wins with 1.0.
    expect(by("status:In Review")).toMatchObject({ source_type: "status", target: "in_progress", state: "auto", confidence: 1 });
    // Nothing is auto-mapped that should not be.
    expect(ms.filter((m) => m.state === "auto" && !m.source_id.startsWith("status:")).map((m) => m.source_id).sort()).toEqual([
      "customfield_10016", "customfield_10020", "customfield_10026",
    ]);

    const piped = await cli(["mappings", "jira"], { home });
    expect(piped.code, piped.stderr).toBe(0);
    const lines = piped.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("SOURCE ID\tNAME\tTYPE\tTARGET\tCONFIDENCE\tSTATE\tREASON");
    expect(lines).toHaveLength(ms.length + 1);
    expect(piped.stderr).toContain(`${awaiting(ms).length} to review`);
  });

  it("review without a terminal exits 2 and names the non-interactive commands", async () => {
    const { home } = await syncedHome(40);
    const r = await cli(["mappings", "review", "jira"], { home });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("needs a terminal");
    expect(r.stderr).toContain("pmsync mappings set");
    expect(r.stderr).toContain("pmsync mappings ignore");
  });

  it("set, ignore and reset decide without prompts; bad input is a usage error", async () => {
    const { home } = await syncedHome(60);
    const ambiguous = await cli(["mappings", "set", "jira", "Team", "custom.team"], { home });
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain("customfield_10040, customfield_10041");
    expect((await cli(["mappings", "set", "jira", "customfield_10040", "velocity"], { home })).code).toBe(2);
    expect((await cli(["mappings", "set", "jira", "No such field", "sprint"], { home })).code).toBe(2);
    expect((await cli(["mappings", "set", "jira", "In Review", "story_points"], { home })).code).toBe(2);

    const set = await cli(["mappings", "set", "jira", "customfield_10040", "custom.team", "--json"], { home });
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ source_id: "customfield_10040", target: "custom.team", state: "manual" });
    const ignore = await cli(["mappings", "ignore", "jira", "Story Points"], { home });
    expect(ignore.code, ignore.stderr).toBe(0);
    expect(ignore.stdout).toContain('"Story Points" (customfield_10026) ignored');

    let ms = await list(home);
    expect(ms.find((m) => m.source_id === "customfield_10026")!.state).toBe("ignored");
    const exported = JSON.parse((await cli(["export", "--format", "json"], { home })).stdout) as Record<string, unknown>[];
    expect(Object.keys(exported[0]!)).toContain("custom.team");
    expect(exported.some((i) => typeof i["custom.team"] === "string")).toBe(true);

    const reset = await cli(["mappings", "reset", "jira", "--json"], { home });
    expect(reset.code, reset.stderr).toBe(0);
    expect(JSON.parse(reset.stdout)).toMatchObject({ connection: "jira", dropped_decisions: 2 });
    ms = await list(home);
    expect(ms.some((m) => ["approved", "manual", "ignored"].includes(m.state))).toBe(false);
    const after = JSON.parse((await cli(["export", "--format", "json"], { home })).stdout) as Record<string, unknown>[];
    expect(Object.keys(after[0]!)).not.toContain("custom.team");
  });
});

describe("mappings review in a real terminal", () => {
  const DOWN = "\u001b[B";
  const ENTER = "\r";

  /** The field the review shows now: the last "[i/n] Name  id · …" header on screen. */
  function current(text: string): { i: number; n: number; name: string; id: string } {
    const all = [...text.matchAll(/\[(\d+)\/(\d+)\] (.+?) {2}(\S+) ·/g)];
    const m = all[all.length - 1];
    if (!m) throw new Error(`no field header on screen:\n${text}`);
    return { i: Number(m[1]), n: Number(m[2]), name: m[3]!, id: m[4]! };
  }

  it("shows each uncertain field with samples and scored candidates; answers persist, reach the export, and a second sync asks nothing new", async () => {
    const { home } = await syncedHome();
    const before = await list(home);
    const queue = awaiting(before);
    expect(queue.length).toBeGreaterThanOrEqual(4);
    // Certain ones are never asked about.
    const s = pty(["mappings", "review", "jira"], { home });

    await s.waitFor("[1/");
    await s.waitFor("Save and quit");
    const screen = s.text();
    for (const choice of ["Accept", "Choose another", "Keep as custom", "Ignore", "Skip", "Save and quit"]) expect(screen).toContain(choice);
    expect(screen).toContain("samples:");
    expect(screen).toContain("candidates:");
    expect(screen).toMatch(/1\. \S+\s+0\.\d\d {2}\S/); // top candidate first, with confidence and reason
    expect(screen).not.toContain("customfield_10016"); // auto: not asked
    const first = current(screen);
    expect(first.n).toBe(queue.length);
    const firstRow = before.find((m) => m.source_id === first.id)!;
    expect(screen).toContain(firstRow.source_name);

    // 1: keep as custom, under the suggested column name.
    s.send(DOWN + DOWN + ENTER);
    await s.waitFor("Export column: custom.");
    s.send(ENTER);
    await s.waitFor("[2/");
    const second = current(s.text());
    // 2: ignore.
    s.send(DOWN + DOWN + DOWN + ENTER);
    await s.waitFor("[3/");
    const third = current(s.text());
    // 3: skip (asked again next time).
    s.send(DOWN + DOWN + DOWN + DOWN + ENTER);
    await s.waitFor("[4/");
    // 4: save and quit.
    s.send(DOWN + DOWN + DOWN + DOWN + DOWN + ENTER);
    await s.waitFor("Saved 2 decisions");
    expect(await s.exit).toBe(0);

    const after = await list(home);
    const got = (id: string) => after.find((m) => m.source_id === id)!;
    const slug = firstRow.candidates.find((c) => c.target.startsWith("custom."))!.target;
    expect(got(first.id)).toMatchObject({ state: firstRow.candidates[0]!.target === slug ? "approved" : "manual", target: slug });
    expect(got(second.id)).toMatchObject({ state: "ignored", target: null });
    expect(got(third.id).state).toBe(before.find((m) => m.source_id === third.id)!.state);

    // The kept field is an export column now, filled from the stored payloads.
    const rows = JSON.parse((await cli(["export", "--format", "json"], { home })).stdout) as Record<string, unknown>[];
    expect(Object.keys(rows[0]!)).toContain(slug);
    expect(rows.filter((r) => r[slug] !== null).length).toBeGreaterThan(0);
    const csv = await cli(["export", "--format", "csv"], { home });
    expect(csv.stdout.split("\r\n")[0]).toContain(slug);

    // A second sync asks nothing new: the same queue, less what was decided.
    const { result } = await syncJson(home);
    expect(result.code, result.stderr).toBe(0);
    const again = await list(home);
    expect(awaiting(again).map((m) => m.source_id).sort()).toEqual(queue.map((m) => m.source_id).filter((id) => id !== first.id && id !== second.id).sort());
    expect(again.filter((m) => ["approved", "manual", "ignored"].includes(m.state)).length).toBe(2);

    // The next review starts with what is left (the skipped field among it).
    const t = pty(["mappings", "review", "jira"], { home });
    await t.waitFor("Save and quit");
    expect(current(t.text()).n).toBe(queue.length - 2);
    t.send("\u0003"); // Ctrl-C: nothing saved
    expect(await t.exit).not.toBe(0);
    expect(t.text()).toContain("nothing saved");
    expect((await list(home)).filter((m) => ["approved", "manual", "ignored"].includes(m.state)).length).toBe(2);
  });

  it("choose another target: the list offers every target, scored ones with their confidence", async () => {
    const { home } = await syncedHome(80);
    const s = pty(["mappings", "review", "jira"], { home });
    await s.waitFor("Save and quit");
    const first = current(s.text());
    s.send(DOWN + ENTER);
    await s.waitFor(`Map "${first.name}" to:`);
    // The list: the scored unified candidates first, then every other target.
    const row = (await list(home)).find((m) => m.source_id === first.id)!;
    const offered = [...new Set([...row.candidates.map((c) => c.target).filter((t) => !t.startsWith("custom.")), ...FIELD_TARGETS])];
    const steps = offered.indexOf("sprint");
    for (const c of row.candidates.filter((x) => !x.target.startsWith("custom."))) await s.waitFor(`${c.target} (${c.confidence.toFixed(2)})`);
    s.send(DOWN.repeat(steps) + ENTER);
    await s.waitFor("[2/");
    s.send(DOWN.repeat(5) + ENTER);
    await s.waitFor("Saved 1 decision");
    expect(await s.exit).toBe(0);
    const ms = await list(home);
    expect(ms.find((m) => m.source_id === first.id)).toMatchObject({ target: "sprint", state: "manual" });
  });
});
