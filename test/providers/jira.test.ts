// Jira through the provider contract (against the sandbox as its fake), then what only Jira
// has: status by workflow transition, ADF descriptions, Jira's 400 `errors` by field.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RemoteError, UsageError } from "../../src/errors.js";
import type { FakeTracker } from "../../src/providers/fake.js";
import { adfToText, textToAdf } from "../../src/providers/jira/adf.js";
import { startFake } from "../../src/providers/jira/fake.js";
import type { Provider } from "../../src/providers/provider.js";
import { loginFake, providerContract, providerFor } from "../contract/contract.js";
import { tempHome } from "../helpers/cli.js";

providerContract(startFake);

describe("textToAdf", () => {
  it("round-trips ordinary text through adfToText", () => {
    for (const s of [
      "One line",
      "First line\nSecond line",
      "Para one\n\nPara two\nwith a break",
      "- item one\n- item two\n\nAfter the list",
      "Code: `x = 1`; quotes \"a\" 'b'; emoji 🚀; @Ana Lima",
      "Line\n\n\nafter two blank lines",
      "",
    ]) {
      expect(adfToText(textToAdf(s))).toBe(s);
    }
  });

  it("builds paragraphs, hard breaks and bullet lists, never empty text nodes", () => {
    expect(textToAdf("a\nb\n\n- x\n- y")).toEqual({
      type: "doc",
      version: 1,
      content: [
        { type: "paragraph", content: [{ type: "text", text: "a" }, { type: "hardBreak" }, { type: "text", text: "b" }] },
        {
          type: "bulletList",
          content: [
            { type: "listItem", content: [{ type: "paragraph", content: [{ type: "text", text: "x" }] }] },
            { type: "listItem", content: [{ type: "paragraph", content: [{ type: "text", text: "y" }] }] },
          ],
        },
      ],
    });
    expect(JSON.stringify(textToAdf("a\n\nb\n\n\nc"))).not.toContain('"text":""');
  });
});

describe("Jira writes", () => {
  let fake: FakeTracker;
  let provider: Provider;
  let keys: string[];

  beforeEach(async () => {
    fake = await startFake();
    keys = fake.seed(30);
    const home = tempHome();
    await loginFake(home, fake);
    provider = providerFor(home, fake);
  });
  afterEach(async () => {
    await fake.close();
  });

  /** A seeded issue whose status is `status` now. */
  const withStatus = (status: string): string => {
    const key = keys.find((k) => fake.view(k)?.status === status);
    if (!key) throw new Error(`no seeded issue in ${status}`);
    return key;
  };

  it("moves status by the transition that leads there, whatever its name", async () => {
    const key = withStatus("To Do");
    await provider.writeIssue((await provider.fetchIssue(key))!, [{ field: "status", value: "in progress" }]);
    expect(fake.view(key)?.status).toBe("In Progress");
    // In Progress → In Review → Done, each a transition of its own name.
    await provider.writeIssue((await provider.fetchIssue(key))!, [{ field: "status", value: "In Review" }]);
    const reviewed = (await provider.fetchIssue(key))!;
    expect(reviewed.issue).toMatchObject({ status: "In Review", status_category: "in_progress" });
    await provider.writeIssue(reviewed, [{ field: "status", value: "Won't Do" }]);
    const done = (await provider.fetchIssue(key))!;
    expect(done.issue).toMatchObject({ status: "Won't Do", status_category: "cancelled" });
    expect(done.issue.resolved_at).toBe(done.issue.updated_at);
  });

  it("a status no transition leads to is a UsageError naming the ones available, and writes nothing", async () => {
    const key = withStatus("To Do");
    const current = (await provider.fetchIssue(key))!;
    const before = fake.view(key);
    const err = await provider.writeIssue(current, [{ field: "title", value: "not written" }, { field: "status", value: "Done" }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(/no transition from "To Do" leads to "Done"/);
    expect((err as UsageError).hint).toMatch(/"In Progress" \(Start progress\)/);
    expect((err as UsageError).hint).toMatch(/"Won't Do" \(Won't do\)/);
    expect(fake.view(key)).toEqual(before);
  });

  it("writes descriptions as ADF and reads them back as the same text", async () => {
    const key = keys[4]!;
    const text = "Steps:\n\n- open the page\n- click Save\n\nExpected: saved.\nActual: an error.";
    await provider.writeIssue((await provider.fetchIssue(key))!, [{ field: "description", value: text }]);
    expect(fake.view(key)?.description).toBe(text);
    expect((await provider.fetchIssue(key))?.issue.description).toBe(text);
    await provider.writeIssue((await provider.fetchIssue(key))!, [{ field: "description", value: null }]);
    expect(fake.view(key)?.description).toBeNull();
  });

  it("fetchIssue of an unknown or deleted issue is null", async () => {
    expect(await provider.fetchIssue("ENG-9999")).toBeNull();
    fake.remove(keys[0]!);
    expect(await provider.fetchIssue(keys[0]!)).toBeNull();
  });

  it("Jira's 400 becomes a RemoteError naming the field and Jira's message", async () => {
    const current = (await provider.fetchIssue(keys[6]!))!;
    const err = await provider.writeIssue(current, [{ field: "due_date", value: "2027-02-30" }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).message).toBe(`Jira refused the edit of ${keys[6]}: due_date (duedate): Error parsing date string: 2027-02-30`);
  });

  it("resolves assignees by name, email or account id; unknown priorities and people are UsageErrors", async () => {
    const key = keys[8]!;
    const current = (await provider.fetchIssue(key))!;
    await provider.writeIssue(current, [{ field: "assignee", value: "priya.raman@example.com" }]);
    expect(fake.view(key)?.assignee).toBe("Priya Raman");
    const raw = (await provider.fetchIssue(key))!.raw as { fields: { assignee: { accountId: string } } };
    await provider.writeIssue(current, [{ field: "assignee", value: null }]);
    expect(fake.view(key)?.assignee).toBeNull();
    await provider.writeIssue(current, [{ field: "assignee", value: raw.fields.assignee.accountId }]);
    expect(fake.view(key)?.assignee).toBe("Priya Raman");
    // Deactivated people cannot be assigned.
    await expect(provider.writeIssue(current, [{ field: "assignee", value: "Björn Lindqvist" }])).rejects.toBeInstanceOf(UsageError);
    const p = await provider.writeIssue(current, [{ field: "priority", value: "Urgent" }]).catch((e: unknown) => e);
    expect(p).toBeInstanceOf(UsageError);
    expect((p as UsageError).hint).toContain('"Highest", "High", "Medium", "Low", "Lowest"');
    await provider.writeIssue(current, [{ field: "priority", value: "low" }]);
    expect(fake.view(key)?.priority).toBe("Low");
  });

  it("writes story points to the site's story points field", async () => {
    expect(provider.editableFields).toEqual(new Set(["title", "description", "status", "priority", "assignee", "labels", "due_date", "story_points"]));
    for (const key of [keys.find((k) => k.startsWith("ENG-"))!, keys.find((k) => k.startsWith("OPS-"))!]) {
      await provider.writeIssue((await provider.fetchIssue(key))!, [{ field: "story_points", value: 8 }]);
      expect((await provider.fetchIssue(key))?.issue.story_points).toBe(8);
      await provider.writeIssue((await provider.fetchIssue(key))!, [{ field: "story_points", value: null }]);
      expect((await provider.fetchIssue(key))?.issue.story_points).toBeNull();
    }
  });
});
