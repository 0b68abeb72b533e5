// The Jira fake for the provider contract (test/contract/): pmsync's own sandbox
// (src/sandbox/), a Jira-Cloud-compatible server, started in-process on 127.0.0.1 with no
// issues and a deterministic clock (2026-11-01T09:00:00Z, one second per change). The
// FakeTracker methods drive it through its in-process control API, so they are never counted
// as API requests.

import { startSandbox } from "../../sandbox/index.js";
import { PRIORITIES, USERS } from "../../sandbox/catalog.js";
import type { FaultKind } from "../../sandbox/types.js";
import type { FakeFault, FakeIssueView, FakeTracker, StartFake } from "../fake.js";
import { adfToText } from "./adf.js";

const CLOCK_START = Date.parse("2026-11-01T09:00:00Z");
/** Projects the connection is scoped to; OUTSIDE holds a few issues a scoped pull must not see. */
const SCOPED = ["ENG", "OPS"];
const OUTSIDE = "WEB";

const FAULTS: Record<FakeFault, { kind: FaultKind; retryAfter?: number }> = {
  // Jira's 429 carries Retry-After (seconds) and X-RateLimit-*; one second keeps tests quick.
  rate_limit: { kind: "429", retryAfter: 1 },
  // Atlassian's edge answers an overloaded site with an HTML 503.
  server_error: { kind: "503" },
  // A 200 whose JSON is cut short.
  malformed: { kind: "malformed" },
};

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : null);
const nameOf = (v: unknown): string | null => {
  const o = obj(v);
  return o ? String(o["name"] ?? o["displayName"] ?? "") || null : null;
};

export const startFake: StartFake = async () => {
  const sb = await startSandbox({
    issues: 0,
    projects: [...SCOPED, OUTSIDE],
    seed: 11,
    timeZone: "Europe/Berlin",
    apiToken: "jira-fake-api-token",
    email: "ana.lima@example.com",
    clock: { startMs: CLOCK_START, stepMs: 1000 },
  });
  const c = sb.control;
  c.populate({ count: 5, projects: [OUTSIDE] });

  /** Keys of live issues, for a clear error when a test names one that is not there. */
  const live = (key: string): string => {
    if (!c.getIssue(key)) throw new RangeError(`the Jira fake has no issue ${key}`);
    return key;
  };

  const fake: FakeTracker = {
    provider: "jira",
    url: sb.url,
    token: sb.apiToken,
    loginArgs: ["--site", sb.url, "--email", sb.email, ...SCOPED.flatMap((p) => ["--project", p])],

    seed(n) {
      const keys = c.populate({ count: n, projects: SCOPED });
      // Issues without sub-tasks first: removing one of them (as tests do with the first keys)
      // removes exactly that issue, where Jira deletes a parent together with its sub-tasks.
      const hasChildren = (key: string): boolean => ((obj(c.getIssue(key)?.["fields"])?.["subtasks"] as unknown[] | undefined) ?? []).length > 0;
      const isEpic = (key: string): boolean => nameOf(obj(c.getIssue(key)?.["fields"])?.["issuetype"]) === "Epic";
      const leaves = keys.filter((k) => !hasChildren(k) && !isEpic(k));
      return [...leaves, ...keys.filter((k) => !leaves.includes(k))];
    },

    editTitle(key, title, atMs) {
      if (!c.edit(live(key), { summary: title }, atMs) && atMs !== undefined) c.setIssueUpdated(key, atMs);
    },

    maxUpdatedMs: () => c.maxUpdatedMs(),

    touchVolatile(key) {
      c.touchVolatile({ keys: [live(key)] });
    },

    remove(key) {
      c.remove({ keys: [live(key)] });
    },

    fail(kind, count) {
      const f = FAULTS[kind];
      c.fault({ kind: f.kind, endpoint: "any", count, ...(f.retryAfter !== undefined ? { retryAfter: f.retryAfter } : {}) });
    },

    requestCount() {
      // The sandbox also counts OAuth token calls; the contract counts Jira API requests.
      const s = c.stats();
      return s.requests - (s.byEndpoint["token"] ?? 0) - (s.byEndpoint["resources"] ?? 0);
    },

    view(key): FakeIssueView | undefined {
      const f = obj(c.getIssue(key)?.["fields"]);
      if (!f) return undefined;
      return {
        title: typeof f["summary"] === "string" ? f["summary"] : null,
        description: adfToText(f["description"]),
        status: nameOf(f["status"]),
        priority: nameOf(f["priority"]),
        assignee: nameOf(f["assignee"]),
        labels: Array.isArray(f["labels"]) ? (f["labels"] as string[]) : [],
        due_date: typeof f["duedate"] === "string" ? f["duedate"] : null,
      };
    },

    vocabulary: {
      inProgressStatus: "In Progress",
      doneStatus: "Done",
      priorities: PRIORITIES.map((p) => p.name),
      users: USERS.filter((u) => u.active && u.accountType === "atlassian").map((u) => u.name),
    },

    close: () => sb.close(),
  };
  return fake;
};
