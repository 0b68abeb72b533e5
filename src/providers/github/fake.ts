// A faithful fake of the GitHub REST API and GitHub's OAuth endpoints, as pmsync meets them:
// real HTTP on 127.0.0.1, serving the API at its root (like GitHub Enterprise's /api/v3, so
// `--site <fake url>` is enough) and the OAuth pages under /login/… (github.com's paths).
//
// What it reproduces: GitHub's JSON shapes (hypermedia URLs, user objects, label objects,
// reactions, seconds-precision `Z` timestamps); repository issue lists with pull requests mixed
// in, `state` defaulting to open, `sort`/`direction`/`since`, `per_page` ≤ 100 and `page`, and a
// Link header whose URLs use `/repositories/{id}/issues` (as GitHub's do); ETags with
// If-None-Match → 304 (not charged to the rate limit); `x-ratelimit-*` on every API answer;
// 401 "Bad credentials"; 410 for a deleted issue, 301 for a transferred one, 410 for a repository
// with issues turned off; PATCH semantics (labels and assignees replace; unknown labels are
// created; assignees who are not collaborators are dropped without a word; 422 validation
// errors); the device flow (RFC 8628, errors answered with HTTP 200 as GitHub does) and the web
// flow with PKCE S256 and the client secret.
//
// The clock starts at 2026-11-01T09:00:00Z and moves one second per change.

import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FakeFault, FakeIssueView, FakeTracker } from "../fake.js";
import { priorityOfLabel, statusName } from "./normalise.js";

const START_MS = Date.UTC(2026, 10, 1, 9, 0, 0);
const DOCS = "https://docs.github.com/rest";
const DEVICE_DOCS = "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow";
const API_VERSION = "2022-11-28";
const RATE_LIMIT = 5000;
const TOKEN = "ghp_pmsyncFakeToken0123456789abcdefABCDEF";
const REGISTERED_CALLBACK = "http://127.0.0.1/callback";

interface Account {
  login: string;
  id: number;
  name: string | null;
  email: string | null;
  type: "User" | "Organization";
}

const ACCOUNTS: Account[] = [
  { login: "octocat", id: 583231, name: "The Octocat", email: "octocat@example.com", type: "User" },
  { login: "hubot", id: 2001, name: "Hubot", email: null, type: "User" },
  { login: "monalisa", id: 2002, name: "Mona Lisa Octocat", email: null, type: "User" },
  { login: "acme", id: 9001, name: "Acme Corp", email: null, type: "Organization" },
];
const ME = ACCOUNTS[0]!;

const ISSUE_TYPES = [
  { id: 410, name: "Bug", description: "An unexpected problem or behavior", color: "red" },
  { id: 411, name: "Feature", description: "A request, idea, or new functionality", color: "blue" },
  { id: 412, name: "Task", description: "A specific piece of work", color: "yellow" },
];

interface Label {
  id: number;
  name: string;
  color: string;
  description: string | null;
  default: boolean;
}

interface Milestone {
  id: number;
  number: number;
  title: string;
  description: string | null;
  state: "open" | "closed";
  due_on: string | null;
}

interface Repo {
  id: number;
  owner: Account;
  name: string;
  hasIssues: boolean;
  items: Map<number, Item>;
  nextNumber: number;
  labels: Label[];
  milestones: Milestone[];
  collaborators: Set<string>;
}

interface Item {
  id: number;
  number: number;
  repo: Repo;
  pr: boolean;
  title: string;
  body: string | null;
  state: "open" | "closed";
  stateReason: string | null;
  labels: string[];
  assignees: string[];
  user: string;
  milestone: number | null;
  type: string | null;
  parent: number | null;
  createdMs: number;
  updatedMs: number;
  closedMs: number | null;
  comments: number;
  reactions: number;
  locked: boolean;
  /** Deleted (410), or transferred (301 to the new issue). */
  gone: null | "deleted" | { movedTo: Item };
}

interface DeviceCode {
  userCode: string;
  clientId: string;
  scope: string;
  expiresAt: number;
  interval: number;
  lastPollAt: number;
  state: "pending" | "approved" | "denied" | "used";
}

interface AuthCode {
  clientId: string;
  redirectUri: string;
  scope: string;
  challenge: string | null;
  expiresAt: number;
  used: boolean;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
  status: number;
}

export interface GitHubFakeOptions {
  /** Seconds between device-flow polls the fake asks for (GitHub: 5). */
  deviceInterval?: number;
  /**
   * Whether a poll sooner than the interval (real clock) is answered `slow_down`, as GitHub does
   * (default true; tests with an instant sleep turn it off).
   */
  enforceDeviceInterval?: boolean;
}

/** FakeTracker plus GitHub's own controls. */
export interface GitHubFake extends FakeTracker {
  readonly oauth: { clientId: string; clientSecret: string; authorizeUrl: string; tokenUrl: string; deviceCodeUrl: string };
  /** Every request served, in order. */
  readonly requests: readonly LoggedRequest[];
  /** Called after each response is sent (e.g. to edit an issue in the middle of a pull). */
  afterResponse: ((r: LoggedRequest) => void) | null;
  /** Moves an issue to another repository: its old address answers 301. Returns the new key. */
  transfer(key: string, toRepo: string): string;
  /** OAuth error answers: GitHub's HTTP 200 with `{error}`, or RFC 6749's 400. */
  oauthErrorStatus: 200 | 400;
  approveDevice(userCode: string): void;
  denyDevice(userCode: string): void;
  expireDevice(userCode: string): void;
  /** The next `n` device-flow polls are answered `slow_down`. */
  slowDown(n: number): void;
  /** The next authorize request is denied by the user. */
  denyNextAuthorize(): void;
  readonly deviceFlowEnabled: boolean;
  setDeviceFlowEnabled(on: boolean): void;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"));
const floorSecond = (ms: number) => Math.floor(ms / 1000) * 1000;
const sha = (s: string) => createHash("sha256").update(s).digest("hex");

const TITLES = [
  "Login fails with SSO enabled", "Add dark mode to the settings page", "Crash when exporting CSV with emoji 🎉",
  "Document the rate-limit headers", "Flaky test in the sync engine", "Support for GitHub Enterprise Server",
  "Typo in README", "Improve error message for bad tokens", "Slow first page on large repositories",
  "Drop Node 18", "Webhook retries are not idempotent", "Labels with commas break the filter",
];
const BODIES: (string | null)[] = [
  null,
  "",
  "Steps to reproduce:\n\n1. Open the app\n2. Click **Export**\n\nExpected: a file. Actual: a crash.",
  "See #1 and https://example.com/docs.\n\n```js\nconsole.log('verbatim')\n```",
  "Ünïcödé, 日本語, and a trailing line\n",
];
const PLAIN_LABELS = ["bug", "enhancement", "documentation", "good first issue"];
const PRIORITIES = ["High", "Medium", "Low"];

export async function startGitHubFake(options: GitHubFakeOptions = {}): Promise<GitHubFake> {
  let clock = START_MS;
  const tick = () => (clock += 1000);
  let nextId = 3_000_000_001;
  let labelId = 7_000_001;
  let served = 0;
  let remaining = RATE_LIMIT;
  const windowReset = Math.floor(Date.now() / 1000) + 3600;
  const faults: FakeFault[] = [];
  const tokens = new Set([TOKEN]);
  const devices = new Map<string, DeviceCode>();
  const codes = new Map<string, AuthCode>();
  const requests: LoggedRequest[] = [];
  const clientId = "Iv1.fa4e0c11e47c11e4";
  const clientSecret = "fake-client-secret-0123456789abcdef01234567";
  let forcedSlowDowns = 0;
  let denyAuthorize = false;
  let deviceFlowEnabled = true;

  const account = (login: string) => ACCOUNTS.find((a) => a.login.toLowerCase() === login.toLowerCase());
  const repos: Repo[] = [];
  const addRepo = (owner: string, name: string, id: number, hasIssues: boolean): Repo => {
    const r: Repo = {
      id, owner: account(owner)!, name, hasIssues, items: new Map(), nextNumber: 1,
      labels: [...PLAIN_LABELS.map((n) => ({ n, d: null })), ...PRIORITIES.map((p) => ({ n: `priority: ${p}`, d: `${p} priority` }))].map((l) => ({
        id: labelId++, name: l.n, color: sha(l.n).slice(0, 6), description: l.d, default: PLAIN_LABELS.includes(l.n),
      })),
      milestones: [
        { id: id * 10 + 1, number: 1, title: "v1.0", description: "First release", state: "open", due_on: "2026-12-15T08:00:00Z" },
        { id: id * 10 + 2, number: 2, title: "Backlog", description: null, state: "open", due_on: null },
      ],
      collaborators: new Set(["octocat", "hubot"]),
    };
    repos.push(r);
    return r;
  };
  const api = addRepo("acme", "api", 810001, true);
  const web = addRepo("acme", "web", 810002, true);
  addRepo("acme", "legacy", 810003, false);
  addRepo("octocat", "hello-world", 810004, true);

  const findRepo = (owner: string, name: string) => repos.find((r) => `${r.owner.login}/${r.name}`.toLowerCase() === `${owner}/${name}`.toLowerCase());
  const fullName = (r: Repo) => `${r.owner.login}/${r.name}`;
  const keyOf = (i: Item) => `${fullName(i.repo)}#${i.number}`;
  const itemOf = (key: string): Item => {
    const m = /^([^/]+)\/([^#]+)#(\d+)$/.exec(key);
    const item = m ? findRepo(m[1]!, m[2]!)?.items.get(Number(m[3])) : undefined;
    if (!item || item.pr) throw new Error(`the fake has no issue ${key}`);
    return item;
  };

  // ---- JSON as GitHub writes it ---------------------------------------------------------------

  let base = "";
  const userJson = (login: string) => {
    const a = account(login) ?? { login, id: 0, name: null, email: null, type: "User" as const };
    const u = `${base}/users/${a.login}`;
    return {
      login: a.login, id: a.id, node_id: `MDQ6VXNlcj${a.id}`, avatar_url: `${base}/avatars/u/${a.id}?v=4`, gravatar_id: "",
      url: u, html_url: `${base}/${a.login}`, followers_url: `${u}/followers`, following_url: `${u}/following{/other_user}`,
      gists_url: `${u}/gists{/gist_id}`, starred_url: `${u}/starred{/owner}{/repo}`, subscriptions_url: `${u}/subscriptions`,
      organizations_url: `${u}/orgs`, repos_url: `${u}/repos`, events_url: `${u}/events{/privacy}`, received_events_url: `${u}/received_events`,
      type: a.type, user_view_type: "public", site_admin: false,
    };
  };
  const repoUrl = (r: Repo) => `${base}/repos/${fullName(r)}`;
  const labelJson = (r: Repo, name: string) => {
    const l = r.labels.find((x) => x.name === name)!;
    return { id: l.id, node_id: `LA_kwDO${l.id}`, url: `${repoUrl(r)}/labels/${encodeURIComponent(l.name)}`, name: l.name, color: l.color, default: l.default, description: l.description };
  };
  const issueJson = (i: Item) => {
    const r = i.repo;
    const u = `${repoUrl(r)}/issues/${i.number}`;
    const ms = r.milestones.find((m) => m.number === i.milestone);
    const type = ISSUE_TYPES.find((t) => t.name === i.type);
    const counts = r.milestones.length ? [...r.items.values()].filter((x) => !x.gone && x.milestone === ms?.number) : [];
    const out: Record<string, unknown> = {
      url: u, repository_url: repoUrl(r), labels_url: `${u}/labels{/name}`, comments_url: `${u}/comments`, events_url: `${u}/events`,
      html_url: `${base}/${fullName(r)}/${i.pr ? "pull" : "issues"}/${i.number}`, id: i.id, node_id: `I_kwDO${i.id}`, number: i.number,
      title: i.title, user: userJson(i.user), labels: i.labels.map((n) => labelJson(r, n)), state: i.state, locked: i.locked,
      assignee: i.assignees[0] ? userJson(i.assignees[0]) : null, assignees: i.assignees.map(userJson),
      milestone: ms
        ? {
            url: `${repoUrl(r)}/milestones/${ms.number}`, html_url: `${base}/${fullName(r)}/milestone/${ms.number}`, labels_url: `${repoUrl(r)}/milestones/${ms.number}/labels`,
            id: ms.id, node_id: `MI_kwDO${ms.id}`, number: ms.number, title: ms.title, description: ms.description, creator: userJson("octocat"),
            open_issues: counts.filter((x) => x.state === "open").length, closed_issues: counts.filter((x) => x.state === "closed").length,
            state: ms.state, created_at: iso(START_MS - 200 * 86_400_000), updated_at: iso(clock), due_on: ms.due_on, closed_at: null,
          }
        : null,
      comments: i.comments, created_at: iso(i.createdMs), updated_at: iso(i.updatedMs), closed_at: iso(i.closedMs),
      author_association: i.user === "octocat" ? "OWNER" : i.user === "hubot" ? "MEMBER" : "CONTRIBUTOR",
      type: type ? { id: type.id, node_id: `IT_kwDO${type.id}`, name: type.name, description: type.description, color: type.color, created_at: iso(START_MS - 400 * 86_400_000), updated_at: iso(START_MS - 300 * 86_400_000), is_enabled: true } : null,
      active_lock_reason: null,
      sub_issues_summary: { total: 0, completed: 0, percent_completed: 0 },
      body: i.body,
      reactions: { url: `${u}/reactions`, total_count: i.reactions, "+1": i.reactions, "-1": 0, laugh: 0, hooray: 0, confused: 0, heart: 0, rocket: 0, eyes: 0 },
      timeline_url: `${u}/timeline`, performed_via_github_app: null, state_reason: i.stateReason,
    };
    if (i.parent !== null) out.parent_issue_url = `${repoUrl(r)}/issues/${i.parent}`;
    if (i.pr) {
      out.draft = false;
      out.pull_request = { url: `${repoUrl(r)}/pulls/${i.number}`, html_url: out.html_url, diff_url: `${out.html_url}.diff`, patch_url: `${out.html_url}.patch`, merged_at: null };
    }
    return out;
  };
  const repoJson = (r: Repo) => ({
    id: r.id, node_id: `R_kgDO${r.id}`, name: r.name, full_name: fullName(r), private: false, owner: userJson(r.owner.login),
    html_url: `${base}/${fullName(r)}`, description: null, fork: false, url: repoUrl(r), issues_url: `${repoUrl(r)}/issues{/number}`,
    has_issues: r.hasIssues, archived: !r.hasIssues, open_issues_count: [...r.items.values()].filter((x) => !x.gone && x.state === "open").length,
    default_branch: "main", created_at: iso(START_MS - 500 * 86_400_000), updated_at: iso(clock), pushed_at: iso(clock),
  });

  // ---- data -----------------------------------------------------------------------------------

  const create = (r: Repo, fields: Partial<Item>): Item => {
    const item: Item = {
      id: nextId++, number: r.nextNumber++, repo: r, pr: false, title: "", body: null, state: "open", stateReason: null, labels: [],
      assignees: [], user: "octocat", milestone: null, type: null, parent: null, createdMs: clock, updatedMs: clock, closedMs: null,
      comments: 0, reactions: 0, locked: false, gone: null, ...fields,
    };
    r.items.set(item.number, item);
    return item;
  };
  let seeded = 0;
  const seed = (n: number): string[] => {
    const keys: string[] = [];
    for (let k = 0; k < n; k++) {
      const i = seeded++;
      const r = i % 2 === 0 ? api : web;
      const createdMs = START_MS - (n - k) * 3 * 3_600_000 - 20 * 60_000;
      const updatedMs = createdMs + ((i * 7919) % 7200) * 1000;
      const closed = i % 5 === 1 ? "completed" : i % 7 === 2 ? "not_planned" : i % 13 === 6 ? "duplicate" : i % 17 === 8 ? "none" : null;
      const labels = [PLAIN_LABELS[i % 4]!, ...(i % 3 === 0 ? [PLAIN_LABELS[(i + 1) % 4]!] : []), ...(i % 4 !== 3 ? [`priority: ${PRIORITIES[i % 3]}`] : [])];
      const first = [...r.items.values()].find((x) => !x.pr);
      const item = create(r, {
        title: `${TITLES[i % TITLES.length]} (${i + 1})`, body: BODIES[i % BODIES.length]!, labels,
        assignees: [[], ["octocat"], ["hubot"], ["octocat", "hubot"]][i % 4]!, user: ["octocat", "hubot", "monalisa"][i % 3]!,
        milestone: i % 4 === 0 ? 1 : i % 4 === 1 ? 2 : null, type: ["Bug", "Feature", "Task", null][i % 4]!,
        parent: i % 10 === 3 && first ? first.number : null, createdMs, updatedMs, comments: i % 6, reactions: i % 3,
        ...(closed ? { state: "closed" as const, stateReason: closed === "none" ? null : closed, closedMs: updatedMs } : {}),
      });
      keys.push(keyOf(item));
      // A pull request now and then: the issue list mixes them in, pmsync must drop them.
      if (i % 9 === 4) create(r, { pr: true, title: `Fix: ${item.title}`, body: "Closes the issue.", createdMs, updatedMs: updatedMs + 1000, user: "hubot" });
    }
    return keys;
  };

  const view = (key: string): FakeIssueView | undefined => {
    let item: Item;
    try {
      item = itemOf(key);
    } catch {
      return undefined;
    }
    const due = item.repo.milestones.find((m) => m.number === item.milestone)?.due_on ?? null;
    return {
      title: item.title, description: item.body, status: statusName(item.state, item.stateReason),
      priority: item.labels.map(priorityOfLabel).find((p) => p !== null) ?? null, assignee: item.assignees[0] ?? null,
      labels: item.labels.filter((l) => priorityOfLabel(l) === null), due_date: due ? due.slice(0, 10) : null,
    };
  };

  // ---- HTTP -----------------------------------------------------------------------------------

  type Reply = { status: number; body?: unknown; raw?: string; headers?: Record<string, string> };
  const msg = (status: number, message: string, extra: Record<string, unknown> = {}): Reply => ({
    status, body: { message, documentation_url: DOCS, status: String(status), ...extra },
  });
  const notFound = () => msg(404, "Not Found");

  const paged = (q: URLSearchParams, linkPath: string, items: unknown[]): Reply => {
    const per = Math.min(100, Math.max(1, Number.parseInt(q.get("per_page") ?? "30", 10) || 30));
    const page = Math.max(1, Number.parseInt(q.get("page") ?? "1", 10) || 1);
    const last = Math.max(1, Math.ceil(items.length / per));
    const link = (p: number) => {
      const params = new URLSearchParams(q);
      params.set("page", String(p));
      return `<${base}${linkPath}?${params.toString()}>`;
    };
    const rels: string[] = [];
    if (page > 1) rels.push(`${link(page - 1)}; rel="prev"`);
    if (page < last) rels.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (page > 1) rels.push(`${link(1)}; rel="first"`);
    return { status: 200, body: items.slice((page - 1) * per, page * per), headers: rels.length ? { link: rels.join(", ") } : {} };
  };

  const listIssues = (r: Repo, q: URLSearchParams): Reply => {
    if (!r.hasIssues) return msg(410, "Issues are disabled for this repo");
    const state = q.get("state") ?? "open";
    const sort = q.get("sort") ?? "created";
    const direction = q.get("direction") ?? "desc";
    if (!["open", "closed", "all"].includes(state) || !["created", "updated", "comments"].includes(sort) || !["asc", "desc"].includes(direction)) {
      return msg(422, "Validation Failed", { errors: [{ resource: "Issue", code: "invalid", field: "state/sort/direction" }] });
    }
    const sinceText = q.get("since");
    const since = sinceText === null ? null : /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(sinceText) ? Date.parse(sinceText) : Number.NaN;
    if (Number.isNaN(since)) return msg(422, "Validation Failed", { errors: [{ resource: "Issue", code: "invalid", field: "since" }] });
    const by = (i: Item) => (sort === "updated" ? i.updatedMs : sort === "comments" ? i.comments : i.createdMs);
    const list = [...r.items.values()]
      .filter((i) => !i.gone && (state === "all" || i.state === state) && (since === null || i.updatedMs >= since))
      .sort((a, b) => (by(a) - by(b) || a.number - b.number) * (direction === "asc" ? 1 : -1));
    return paged(q, `/repositories/${r.id}/issues`, list.map(issueJson));
  };

  const getIssue = (r: Repo, n: number): Reply | Item => {
    const item = r.items.get(n);
    if (!item) return notFound();
    if (item.gone === "deleted") return msg(410, "This issue was deleted");
    if (item.gone) {
      const to = `${base}/repositories/${item.gone.movedTo.repo.id}/issues/${item.gone.movedTo.number}`;
      return { status: 301, body: { message: "Moved Permanently", url: to, documentation_url: DOCS }, headers: { location: to } };
    }
    return item;
  };

  const patchIssue = (item: Item, body: unknown): Reply => {
    if (!body || typeof body !== "object" || Array.isArray(body)) return msg(400, "Problems parsing JSON");
    const b = body as Record<string, unknown>;
    const invalid = (field: string, code = "invalid") => msg(422, "Validation Failed", { errors: [{ resource: "Issue", code, field }] });
    if (b.title !== undefined && (typeof b.title !== "string" || b.title.trim() === "")) return invalid("title", "missing_field");
    if (b.body !== undefined && b.body !== null && typeof b.body !== "string") return invalid("body");
    if (b.state !== undefined && b.state !== "open" && b.state !== "closed") return invalid("state");
    if (b.state_reason !== undefined && b.state_reason !== null && !["completed", "not_planned", "duplicate", "reopened"].includes(b.state_reason as string)) return invalid("state_reason");
    const names = (v: unknown) => (Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x : (x as { name?: unknown })?.name)) : null);
    const labels = b.labels === undefined ? undefined : names(b.labels);
    if (labels === null || labels?.some((l) => typeof l !== "string" || l.trim() === "")) return invalid("labels");
    // A new label's name is at most 50 characters.
    if (labels?.some((l) => (l as string).length > 50)) return msg(422, "Validation Failed", { errors: [{ resource: "Label", code: "invalid", field: "name", message: "name is too long (maximum is 50 characters)" }] });
    const assignees = b.assignees === undefined ? undefined : names(b.assignees);
    if (assignees === null || assignees?.some((l) => typeof l !== "string")) return invalid("assignees");
    if (assignees && assignees.length > 10) return invalid("assignees");
    if (b.milestone !== undefined && b.milestone !== null && !item.repo.milestones.some((m) => m.number === b.milestone)) return invalid("milestone");

    const before = JSON.stringify(issueJson(item));
    if (typeof b.title === "string") item.title = b.title;
    if (b.body !== undefined) item.body = b.body as string | null;
    let closing = false;
    if (b.state !== undefined || b.state_reason !== undefined) {
      const next = (b.state as string | undefined) ?? item.state;
      if (next === "closed") {
        closing = item.state !== "closed";
        item.stateReason = (b.state_reason as string | undefined) ?? (closing ? "completed" : item.stateReason);
        item.state = "closed";
      } else if (item.state === "closed") {
        item.state = "open";
        item.stateReason = "reopened";
        item.closedMs = null;
      }
    }
    if (labels) {
      item.labels = [...new Set(labels as string[])].map((l) => {
        const known = item.repo.labels.find((x) => x.name.toLowerCase() === l.toLowerCase());
        if (known) return known.name;
        item.repo.labels.push({ id: labelId++, name: l, color: "ededed", description: null, default: false });
        return l;
      });
    }
    // Not a collaborator: silently dropped, as GitHub does.
    if (assignees) item.assignees = [...new Set((assignees as string[]).map((a) => account(a)?.login ?? a))].filter((a) => item.repo.collaborators.has(a));
    if (b.milestone !== undefined) item.milestone = b.milestone as number | null;
    if (JSON.stringify(issueJson(item)) !== before) {
      item.updatedMs = tick();
      if (closing) item.closedMs = item.updatedMs;
    }
    return { status: 200, body: issueJson(item) };
  };

  const api403 = (): Reply => {
    return {
      status: 403,
      body: { message: `API rate limit exceeded for user ID ${ME.id}. If you reach out to GitHub Support for help, please include the request ID 0000:FAKE.`, documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api", status: "403" },
      headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 1) },
    };
  };

  const route = (method: string, path: string, q: URLSearchParams, body: unknown): Reply => {
    let m: RegExpExecArray | null;
    if (method === "GET" && path === "/user") return { status: 200, body: { ...userJson(ME.login), name: ME.name, email: ME.email, company: null, created_at: "2011-01-25T18:44:36Z", updated_at: iso(START_MS) } };
    if (method === "GET" && path === "/user/repos") return paged(q, path, repos.filter((r) => r.owner.login === ME.login || r.collaborators.has(ME.login)).map(repoJson));
    if (method === "GET" && (m = /^\/(orgs|users)\/([^/]+)\/repos$/.exec(path))) {
      const owner = account(decodeURIComponent(m[2]!));
      if (!owner || (m[1] === "orgs" && owner.type !== "Organization")) return notFound();
      return paged(q, path, repos.filter((r) => r.owner === owner).map(repoJson));
    }
    const repoPath = /^\/(?:repos\/([^/]+)\/([^/]+)|repositories\/(\d+))(\/.*)?$/.exec(path);
    if (!repoPath) return notFound();
    const r = repoPath[3] ? repos.find((x) => x.id === Number(repoPath[3])) : findRepo(decodeURIComponent(repoPath[1]!), decodeURIComponent(repoPath[2]!));
    if (!r) return notFound();
    const rest = repoPath[4] ?? "";
    if (method === "GET" && rest === "") return { status: 200, body: repoJson(r) };
    if (method === "GET" && rest === "/issues") return listIssues(r, q);
    if (method === "GET" && rest === "/labels") return paged(q, `/repositories/${r.id}/labels`, r.labels.map((l) => labelJson(r, l.name)));
    if (method === "GET" && (m = /^\/assignees\/([^/]+)$/.exec(rest))) return r.collaborators.has(account(decodeURIComponent(m[1]!))?.login ?? "") ? { status: 204 } : notFound();
    if ((m = /^\/issues\/(\d+)$/.exec(rest)) && (method === "GET" || method === "PATCH")) {
      if (!r.hasIssues) return msg(410, "Issues are disabled for this repo");
      const found = getIssue(r, Number(m[1]));
      if (!("id" in found)) return found;
      return method === "GET" ? { status: 200, body: issueJson(found) } : patchIssue(found, body);
    }
    return notFound();
  };

  // ---- OAuth (github.com/login/…) -------------------------------------------------------------

  let oauthErrorStatus: 200 | 400 = 200;
  const oauthReply = (wantsJson: boolean, status: number, body: Record<string, unknown>): Reply =>
    wantsJson
      ? { status, body }
      : { status, raw: new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString(), headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" } };
  const oauthError = (wantsJson: boolean, error: string, description: string, extra: Record<string, unknown> = {}) =>
    oauthReply(wantsJson, oauthErrorStatus, { error, error_description: description, error_uri: DEVICE_DOCS, ...extra });
  const issueToken = (wantsJson: boolean, scope: string) => {
    const token = `gho_${randomBytes(18).toString("base64url")}`;
    tokens.add(token);
    return oauthReply(wantsJson, 200, { access_token: token, token_type: "bearer", scope });
  };
  const page = (status: number, text: string): Reply => ({ status, raw: `<!DOCTYPE html><html><body><p>${text}</p></body></html>`, headers: { "content-type": "text/html; charset=utf-8" } });

  const oauth = (method: string, path: string, q: URLSearchParams, p: Record<string, string>, wantsJson: boolean): Reply | null => {
    if (method === "POST" && path === "/login/device/code") {
      if (p.client_id !== clientId) return oauthError(wantsJson, "incorrect_client_credentials", "The client_id is not valid.");
      if (!deviceFlowEnabled) return oauthError(wantsJson, "device_flow_disabled", "Device flow must be explicitly enabled for this App");
      const deviceCode = randomBytes(20).toString("hex");
      const userCode = `${randomBytes(2).toString("hex")}-${randomBytes(2).toString("hex")}`.toUpperCase();
      const interval = options.deviceInterval ?? 5;
      devices.set(deviceCode, { userCode, clientId, scope: p.scope ?? "", expiresAt: Date.now() + 900_000, interval, lastPollAt: Date.now(), state: "pending" });
      return oauthReply(wantsJson, 200, { device_code: deviceCode, user_code: userCode, verification_uri: `${base}/login/device`, expires_in: 900, interval });
    }
    if (method === "POST" && path === "/login/oauth/access_token") {
      if (p.grant_type === "urn:ietf:params:oauth:grant-type:device_code") {
        if (p.client_id !== clientId) return oauthError(wantsJson, "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
        const d = devices.get(p.device_code ?? "");
        if (!d || d.state === "used") return oauthError(wantsJson, "incorrect_device_code", "The device_code provided is not valid.");
        if (Date.now() > d.expiresAt) return oauthError(wantsJson, "expired_token", "The device_code has expired.");
        if (d.state === "denied") return oauthError(wantsJson, "access_denied", "The authorization request was denied.");
        const tooSoon = options.enforceDeviceInterval !== false && Date.now() - d.lastPollAt < d.interval * 1000;
        d.lastPollAt = Date.now();
        if (forcedSlowDowns > 0 || tooSoon) {
          if (forcedSlowDowns > 0) forcedSlowDowns--;
          else d.interval += 5;
          return oauthError(wantsJson, "slow_down", "Too many requests have been made in the same timeframe.", { interval: d.interval });
        }
        if (d.state === "pending") return oauthError(wantsJson, "authorization_pending", "The authorization request is still pending.");
        d.state = "used";
        return issueToken(wantsJson, d.scope);
      }
      if (p.grant_type !== undefined && p.grant_type !== "authorization_code") return oauthError(wantsJson, "unsupported_grant_type", "The grant type is not supported.");
      if (p.client_id !== clientId || p.client_secret !== clientSecret) return oauthError(wantsJson, "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.");
      const c = codes.get(p.code ?? "");
      if (!c || c.used || Date.now() > c.expiresAt) return oauthError(wantsJson, "bad_verification_code", "The code passed is incorrect or expired.");
      if (p.redirect_uri !== undefined && p.redirect_uri !== c.redirectUri) return oauthError(wantsJson, "redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.");
      if (c.challenge !== null && createHash("sha256").update(p.code_verifier ?? "").digest("base64url") !== c.challenge) {
        return oauthError(wantsJson, "bad_verification_code", "The code_verifier does not match the code_challenge.");
      }
      c.used = true;
      return issueToken(wantsJson, c.scope);
    }
    if (method === "GET" && path === "/login/oauth/authorize") {
      if (q.get("client_id") !== clientId) return page(404, "Not Found");
      const redirect = q.get("redirect_uri") ?? REGISTERED_CALLBACK;
      let u: URL;
      try {
        u = new URL(redirect);
      } catch {
        return page(400, "The redirect_uri is not valid.");
      }
      // A loopback redirect may use any port; the path must be the registered one or below it.
      const okHost = u.protocol === "http:" && (u.hostname === "127.0.0.1" || u.hostname === "[::1]");
      if (!okHost || !(u.pathname === "/callback" || u.pathname.startsWith("/callback/"))) return page(400, "The redirect_uri MUST match the registered callback URL for this application.");
      const back = (params: Record<string, string>) => {
        for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
        const state = q.get("state");
        if (state !== null) u.searchParams.set("state", state);
        return { status: 302, raw: "", headers: { location: u.toString() } };
      };
      const challenge = q.get("code_challenge");
      if (challenge !== null && (q.get("code_challenge_method") ?? "plain") !== "S256") return back({ error: "invalid_request", error_description: "code_challenge_method must be S256" });
      if (denyAuthorize) {
        denyAuthorize = false;
        return back({ error: "access_denied", error_description: "The user has denied your application access." });
      }
      const code = randomBytes(10).toString("hex");
      codes.set(code, { clientId, redirectUri: redirect, scope: q.get("scope") ?? "", challenge, expiresAt: Date.now() + 600_000, used: false });
      return back({ code });
    }
    return null;
  };

  // ---- the server -----------------------------------------------------------------------------

  const respond = (req: IncomingMessage, res: ServerResponse, reply: Reply, apiCall: boolean): void => {
    const headers: Record<string, string> = { ...reply.headers };
    let text = reply.raw ?? (reply.body === undefined ? "" : JSON.stringify(reply.body));
    if (reply.raw === undefined && reply.body !== undefined) headers["content-type"] ??= "application/json; charset=utf-8";
    let status = reply.status;
    if (apiCall) {
      if (status === 200 && req.method === "GET") {
        const etag = `W/"${sha(text).slice(0, 40)}"`;
        headers.etag = etag;
        const inm = req.headers["if-none-match"];
        if (inm && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === etag.replace(/^W\//, ""))) {
          status = 304;
          text = "";
          delete headers["content-type"];
        }
      }
      // A 304 is free: it does not use the rate limit.
      if (status !== 304 && status !== 401 && remaining > 0 && headers["x-ratelimit-remaining"] === undefined) remaining--;
      headers["x-ratelimit-limit"] ??= String(RATE_LIMIT);
      headers["x-ratelimit-remaining"] ??= String(remaining);
      headers["x-ratelimit-used"] = String(RATE_LIMIT - remaining);
      headers["x-ratelimit-reset"] ??= String(windowReset);
      headers["x-ratelimit-resource"] = "core";
      headers["x-github-api-version-selected"] = API_VERSION;
      headers["x-github-request-id"] = `FAKE:${served}`;
    }
    res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(text)) });
    res.end(text);
  };

  const server = createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      served++;
      const url = new URL(req.url ?? "/", base);
      const method = req.method ?? "GET";
      const text = Buffer.concat(chunks).toString("utf8");
      const isOAuth = url.pathname.startsWith("/login/");
      let reply: Reply;
      const fault = faults.shift();
      if (fault === "rate_limit") reply = api403();
      else if (fault === "server_error") reply = { status: 502, body: { message: "Server Error" } };
      else if (fault === "malformed") reply = { status: 200, raw: `[{"url":"${base}/repos/acme/api/issues/1","id":3000000001,"title":"cut of`, headers: { "content-type": "application/json; charset=utf-8" } };
      else if (isOAuth) {
        const json = (req.headers["content-type"] ?? "").includes("json");
        let params: Record<string, string> = {};
        try {
          params = json ? (JSON.parse(text || "{}") as Record<string, string>) : Object.fromEntries(new URLSearchParams(text));
        } catch {
          params = {};
        }
        reply = oauth(method, url.pathname, url.searchParams, { ...Object.fromEntries(url.searchParams), ...params }, (req.headers.accept ?? "").includes("json")) ?? page(404, "Not Found");
      } else {
        const auth = /^(?:Bearer|token)\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
        const version = req.headers["x-github-api-version"];
        if (!auth) reply = msg(401, "Requires authentication");
        else if (!tokens.has(auth)) reply = msg(401, "Bad credentials");
        else if (version !== undefined && version !== API_VERSION) reply = msg(400, `The version '${String(version)}' is not supported.`);
        else {
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
            reply = route(method, url.pathname, url.searchParams, body);
          } catch {
            reply = msg(400, "Problems parsing JSON");
          }
        }
      }
      respond(req, res, reply, !isOAuth || fault !== undefined);
      const logged: LoggedRequest = {
        method, path: url.pathname, query: Object.fromEntries(url.searchParams), status: res.statusCode,
        headers: { "if-none-match": req.headers["if-none-match"], "x-github-api-version": req.headers["x-github-api-version"] as string | undefined, accept: req.headers.accept },
      };
      requests.push(logged);
      fake.afterResponse?.(logged);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: GitHubFake = {
    provider: "github",
    url: base,
    token: TOKEN,
    loginArgs: ["--site", base, "--repo", "acme/api", "--repo", "acme/web"],
    oauth: { clientId, clientSecret, authorizeUrl: `${base}/login/oauth/authorize`, tokenUrl: `${base}/login/oauth/access_token`, deviceCodeUrl: `${base}/login/device/code` },
    requests,
    afterResponse: null,
    seed,
    editTitle(key, title, atMs) {
      const item = itemOf(key);
      item.title = title;
      item.updatedMs = atMs === undefined ? tick() : floorSecond(atMs);
    },
    maxUpdatedMs() {
      let max = Number.NEGATIVE_INFINITY;
      for (const r of repos) for (const i of r.items.values()) if (!i.pr && !i.gone && i.updatedMs > max) max = i.updatedMs;
      return max;
    },
    touchVolatile(key) {
      const item = itemOf(key);
      item.reactions++;
    },
    remove(key) {
      itemOf(key).gone = "deleted";
    },
    transfer(key, toRepo) {
      const item = itemOf(key);
      const [owner, name] = toRepo.split("/");
      const target = findRepo(owner ?? "", name ?? "");
      if (!target) throw new Error(`the fake has no repository ${toRepo}`);
      const { id: _id, number: _number, ...content } = item;
      const moved = create(target, { ...content, repo: target, parent: null, updatedMs: tick(), gone: null });
      item.gone = { movedTo: moved };
      return keyOf(moved);
    },
    fail(kind, count) {
      for (let k = 0; k < count; k++) faults.push(kind);
    },
    requestCount: () => served,
    view,
    vocabulary: { inProgressStatus: "Open", doneStatus: "Closed", priorities: [...PRIORITIES], users: ["octocat", "hubot"] },
    get oauthErrorStatus() {
      return oauthErrorStatus;
    },
    set oauthErrorStatus(v: 200 | 400) {
      oauthErrorStatus = v;
    },
    approveDevice: (userCode) => deviceByUser(userCode).state = "approved",
    denyDevice: (userCode) => deviceByUser(userCode).state = "denied",
    expireDevice: (userCode) => deviceByUser(userCode).expiresAt = 0,
    slowDown(n) {
      forcedSlowDowns += n;
    },
    denyNextAuthorize() {
      denyAuthorize = true;
    },
    get deviceFlowEnabled() {
      return deviceFlowEnabled;
    },
    setDeviceFlowEnabled(on) {
      deviceFlowEnabled = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const deviceByUser = (userCode: string): DeviceCode => {
    const d = [...devices.values()].find((x) => x.userCode === userCode);
    if (!d) throw new Error(`the fake has no device code ${userCode}`);
    return d;
  };
  return fake;
}

export const startFake = (): Promise<FakeTracker> => startGitHubFake();
