// Public types of the sandbox (re-exported from ./index.ts).

/** `garbled`: a 200 JSON page, whole and well-framed, with a NUL byte in the middle. */
export type FaultKind = "429" | "503" | "500" | "malformed" | "garbled" | "truncated" | "html" | "hang" | "reset";
/**
 * Which requests a fault hits. The first five are the brief's; `project`, `serverInfo`, `token`
 * (POST /oauth/token) and `resources` (accessible-resources) are extra. `any` = every request on
 * /rest/**, /ex/jira/** and /oauth/**.
 */
export type FaultEndpoint = "search" | "myself" | "field" | "issue" | "project" | "serverInfo" | "token" | "resources" | "any";

export interface FaultSpec {
  kind: FaultKind;
  /** Default "search". */
  endpoint?: FaultEndpoint;
  /** How many matching requests get the fault; default 1. */
  count?: number;
  /** Matching requests answered normally before the fault applies; default 0. */
  skip?: number;
  /** Seconds, sent as `Retry-After` on 429 (default 1) and 503 (only when given). */
  retryAfter?: number;
}

export interface SandboxStats {
  /** Every request received on /rest/**, /ex/jira/** and /oauth/** (failed, faulted and 401 ones too). */
  requests: number;
  /** Per endpoint class: search, count, myself, field, issue, project, serverInfo, token, resources, other. */
  byEndpoint: Record<string, number>;
  /** Requests to /rest/api/3/search/jql (GET and POST). */
  searchRequests: number;
  /**
   * Only with `renderCache` on: field sets and issue renderings held, their bytes, and how many
   * renderings were served from the cache (hits) or rendered (misses) since the last reset.
   */
  renderCache?: { tables: number; entries: number; bytes: number; hits: number; misses: number };
}

export interface KeySelection {
  keys?: string[];
  count?: number;
}

/** The JSON Jira returns for an issue. */
export type JiraIssueJson = Record<string, unknown>;

export interface SandboxControl {
  /** Real edits (summary and/or status, assignee, labels, story points); `updated` = now. */
  touch(sel?: KeySelection): string[];
  /** Changes only `lastViewed` and `watches.watchCount`; `updated` stays. */
  touchVolatile(sel?: KeySelection): string[];
  /**
   * Deletes issues; returns every deleted key. By `keys`, a parent takes its sub-tasks with it
   * (as in Jira) and a deleted epic leaves its children without a parent. By `count`, only
   * issues without sub-tasks (and no epics) are picked, so exactly `count` issues go.
   */
  remove(sel?: KeySelection): string[];
  /** New issues (status To Do, created = updated = now) in `project` or spread over projects. */
  create(opts: { count: number; project?: string }): string[];
  /**
   * Issues with a history, like the generated dataset's (created during the year before the
   * sandbox started, in every status, most edited since), in `projects` (default: all).
   * Returns their keys in creation order. Also POST /_sandbox/populate `{count, projects?}`.
   */
  populate(opts: { count: number; projects?: string[] }): string[];
  /**
   * Edits an issue as a person would in Jira: `body` is what PUT /rest/api/3/issue/{key} takes
   * (`{fields, update}`, or just the `fields` object), validated the same way (throws a
   * RangeError naming Jira's errors). `updated` becomes `atMs` when given, else the clock.
   * Returns false when nothing changed (then nothing moves). Also POST /_sandbox/edit
   * `{key, fields, atMs?}`.
   */
  edit(key: string, body: unknown, atMs?: number): boolean;
  /** The largest `updated` (epoch ms) among live issues; NaN when there are none. */
  maxUpdatedMs(): number;
  /** Sets an issue's `updated` to an exact instant (boundary tests). */
  setIssueUpdated(key: string, epochMs: number): void;
  fault(spec: FaultSpec): void;
  clearFaults(): void;
  stats(): SandboxStats;
  resetStats(): void;
  /** Live (not deleted) issues. */
  issueCount(): number;
  /** The issue as GET /rest/api/3/issue/{key} returns it (all fields), or null when unknown/deleted. */
  getIssue(key: string): JiraIssueJson | null;
  /** Makes every OAuth access token issued so far expired (refresh tokens stay valid). */
  expireAccessTokens(): void;
  /**
   * With `renderCache` on: renders every live issue for this field set into the cache (also
   * POST /_sandbox/warm `{fields?}`). Without fields: the fields of the last search that asked
   * for more than ids, else the fields pmsync requests. `bytes` = the whole cache's size after.
   * Throws when the sandbox was started without `renderCache`.
   */
  warmRenderCache(fields?: string[]): { issues: number; ms: number; bytes: number };
}

export interface SandboxOptions {
  /** Default 0 = ephemeral; the server always binds 127.0.0.1. */
  port?: number;
  /** Number of generated issues, default 500. */
  issues?: number;
  /** Project keys, default ["ENG", "OPS", "WEB"]. */
  projects?: string[];
  /** Deterministic data, default 1. */
  seed?: number;
  /** The account's profile time zone (IANA), default "America/Los_Angeles". */
  timeZone?: string;
  /** Default "demo@example.com". */
  email?: string;
  /** Default: 24 random characters. */
  apiToken?: string;
  /** Delay added before answering each /rest request, default 0. */
  latencyMs?: number;
  /** Clock, default Date.now. */
  now?: () => number;
  /**
   * A deterministic clock instead of `now`: it starts at `startMs` and stands still, except that
   * every mutation (a REST edit or transition, a control touch, touchVolatile, create or edit)
   * first moves it forward by `stepMs`. For fakes that must give the same times on every run.
   */
  clock?: { startMs: number; stepMs: number };
  /** Default clientId "sandbox-client", secret "sandbox-secret", autoApprove true. */
  oauth?: { clientId: string; clientSecret: string; autoApprove?: boolean; redirectUri?: string };
  /**
   * Burst limit as a token bucket, reported in X-RateLimit-* headers; requests beyond it get a
   * real 429. Default capacity 100,000 refilled at 100,000/s (effectively unlimited).
   */
  rateLimit?: { capacity: number; refillPerSecond: number };
  /**
   * Memoise each issue's rendered JSON per (issue, its current state, normalised field set), so
   * serving it again costs a copy, not a rendering (default false). For `npm run bench`, where
   * the sandbox's CPU would otherwise compete with pmsync's. Costs memory: ~6 KB per issue and
   * field set (≈ 600 MB for 100,000 issues warm with pmsync's fields); capped at 2 GiB.
   */
  renderCache?: boolean;
}

export interface SandboxHandle {
  /** e.g. http://127.0.0.1:43123 */
  url: string;
  port: number;
  email: string;
  apiToken: string;
  cloudId: string;
  control: SandboxControl;
  /** Closes the server and any hanging sockets promptly. */
  close(): Promise<void>;
}
