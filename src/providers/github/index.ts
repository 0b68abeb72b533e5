// The GitHub Issues provider: per repository `GET /repos/{o}/{r}/issues?state=all&sort=updated
// &direction=asc&per_page=100` (+ `since` for incremental pulls), pages followed through `Link`,
// pull requests (mixed into that list) dropped.
//
// Two things the engine's one cursor per connection needs from a multi-repository pull:
// - Order. The cursor moves after each written page to the largest `updated` so far. Pulling
//   repository A completely and then B would move it past B's older issues, and a run that
//   stops in B would lose them. So the repositories' streams (each ascending) are merged by
//   `updated_at`: whatever has been written is never newer than what has not.
// - Page drift. GitHub's pages are offsets into a list sorted by `updated`: an issue edited
//   during the pull moves to the end, every later issue moves up one place, and the issue at the
//   next page's edge is never listed. The moved issue shows up a second time with a newer
//   `updated_at`; when that happens the repository is listed once more from (a second before)
//   the moved issue's old `updated_at` (a `since` query), and issues already seen unchanged are
//   dropped. An issue deleted during the pull shifts the pages the same way without a trace;
//   that is left to the next full pull.

import { RemoteError, UsageError } from "../../errors.js";
import { memberChanges } from "../member-changes.js";
import type { ResponseClassifier } from "../../http/client.js";
import { parseRetryAfter } from "../../http/client.js";
import type { EditableField, FieldChange, FieldDef, FieldWrite, Identity, Page, Provider, ProviderContext, ProviderModule, PulledRecord, PullRequest } from "../provider.js";
import { githubApiBaseUrl, githubAuthHeaders, githubDefaultApiUrl, githubOAuthUrls, normaliseRepo } from "./auth.js";
import { GitHubClient, PAGE_SIZE } from "./client.js";
import { fieldCatalog } from "./fields.js";
import { COVERED_MEMBERS, isPullRequest, normaliseIssue, type RepoInfo } from "./normalise.js";
import { GITHUB_EDITABLE, GitHubWrites } from "./writes.js";

/** How often one repository is listed again after its pages drifted, before pmsync moves on. */
const MAX_RELISTS = 3;

/** `since` takes ISO 8601 to the second: round down so the window only ever grows. */
export function sinceParam(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

interface IssuesPage {
  records: PulledRecord[];
  next: string | null;
}

/** One repository's issues in ascending `updated_at`, a page at a time. */
class RepoStream {
  buffer: PulledRecord[] = [];
  at = 0;
  pending: Promise<IssuesPage> | null = null;
  private next: string | null = null;
  private started = false;
  private relists = 0;
  /** `updated` of each issue as this stream last yielded it (drops unchanged re-reads). */
  private readonly yielded = new Map<string, number>();
  /** This listing pass's reads; a second, newer read of one of them means the pages drifted. */
  private pass = new Map<string, number>();
  private relistFrom: number | null = null;

  constructor(
    private readonly client: GitHubClient,
    readonly repo: RepoInfo,
    private readonly sinceMs: number | null,
  ) {}

  get empty(): boolean {
    return this.at >= this.buffer.length;
  }
  /** Pages still to come: not started, a fetch under way, a next page, or a listing to repeat. */
  get more(): boolean {
    return !this.started || this.pending !== null || this.next !== null || this.relistFrom !== null;
  }
  /** The `updated` of the buffer's last record: the merge will need this stream's next page once it passes that. */
  get tailMs(): number {
    return this.buffer.length ? this.buffer[this.buffer.length - 1]!.updatedMs : Number.NEGATIVE_INFINITY;
  }
  head(): PulledRecord {
    return this.buffer[this.at]!;
  }

  /** Starts fetching the next page (if not already under way). */
  prefetch(): Promise<IssuesPage> {
    if (!this.pending) {
      this.pending = this.fetch();
      this.pending.catch(() => undefined); // awaited in fill(); this only stops an unhandled-rejection warning
    }
    return this.pending;
  }

  /** Reads pages until the buffer has records or the repository has no more. */
  async fill(): Promise<void> {
    while (this.empty && this.more) {
      const page = await this.prefetch();
      this.pending = null;
      this.buffer = page.records;
      this.at = 0;
    }
  }

  private async fetch(): Promise<IssuesPage> {
    let url = this.next;
    if (url === null) {
      const since = this.relistFrom ?? this.sinceMs;
      if (this.started) this.relists++;
      this.started = true;
      this.relistFrom = null;
      this.pass = new Map();
      url = this.firstUrl(since);
    }
    const page = await this.client.listPage<unknown>({ path: url, endpoint: "issues", accept: [301, 404, 410] });
    if (page.status >= 300) throw this.unreachable(page.status);
    this.next = page.next;
    const records: PulledRecord[] = [];
    for (const raw of page.items) {
      if (isPullRequest(raw)) continue;
      const rec = normaliseIssue(raw, this.repo);
      const id = rec.issue.id;
      const before = this.pass.get(id);
      if (before !== undefined && before !== rec.updatedMs && this.relists < MAX_RELISTS) {
        // A second early: should `since` mean "after" rather than "at or after", the issue that
        // shares the moved issue's old time is still listed.
        this.relistFrom = Math.min(this.relistFrom ?? Infinity, before - 1000);
      }
      this.pass.set(id, rec.updatedMs);
      if (this.yielded.get(id) === rec.updatedMs) continue;
      this.yielded.set(id, rec.updatedMs);
      records.push(rec);
    }
    return { records, next: this.next };
  }

  private firstUrl(sinceMs: number | null): string {
    const query: Record<string, string | number> = { state: "all", sort: "updated", direction: "asc", per_page: PAGE_SIZE };
    if (sinceMs !== null) query.since = sinceParam(sinceMs);
    return this.client.url(this.client.issuesPath(this.repo.fullName), query);
  }

  private unreachable(status: number): Error {
    const name = this.repo.fullName;
    if (status === 410) return new RemoteError(`${name} has issues turned off on GitHub`, { status, hint: `remove it from the connection (pmsync login github --repo …)` });
    if (status === 301) return new RemoteError(`${name} was renamed or moved on GitHub`, { status, hint: "log in again with its new owner/name" });
    return new RemoteError(`${name} does not exist on GitHub, or this account cannot see it`, { status, hint: "check the --repo name and the token's access" });
  }
}

/** The repositories' streams merged by `updated`, yielded whenever a page must be fetched (and every PAGE_SIZE records). */
async function* mergeByUpdated(streams: RepoStream[]): AsyncIterable<Page> {
  let out: PulledRecord[] = [];
  let live = streams;
  for (;;) {
    let fetched = false;
    for (const s of live) {
      if (!s.empty || !s.more) continue;
      // Write what is ready while the network is busy.
      if (out.length) {
        yield { records: out };
        out = [];
      }
      await s.fill();
      fetched = true;
    }
    live = live.filter((s) => !s.empty);
    if (!live.length) break;
    if (fetched) prefetchNext(live);
    let min = live[0]!;
    for (const s of live) if (s.head().updatedMs < min.head().updatedMs) min = s;
    out.push(min.head());
    min.at++;
    if (out.length >= PAGE_SIZE) {
      yield { records: out };
      out = [];
    }
  }
  if (out.length) yield { records: out };
}

/** Fetches ahead for the stream the merge will run out of first (one request in flight at a time). */
function prefetchNext(live: RepoStream[]): void {
  if (live.some((s) => s.pending)) return;
  let first: RepoStream | null = null;
  for (const s of live) if (s.more && (first === null || s.tailMs < first.tailMs)) first = s;
  first?.prefetch();
}

class GitHubProvider implements Provider {
  readonly name = "github";
  // Counters and summaries that change without an edit of the issue: reactions, the comment
  // count, the author's association with the repository (e.g. becoming a member), sub-issue
  // progress, and the milestone's and issue type's own counters and timestamps.
  readonly volatilePaths = [
    "reactions", "comments", "author_association", "sub_issues_summary", "issue_dependencies_summary",
    "milestone.open_issues", "milestone.closed_issues", "milestone.updated_at", "type.updated_at",
  ];
  // Hypermedia (API and user-profile links, node ids, avatars) and label/type colours: none of it
  // is issue content. `html_url` stays (the link people open), as does `parent_issue_url`.
  readonly ignoredKeys: ReadonlySet<string> = new Set([
    "url", "repository_url", "labels_url", "comments_url", "events_url", "timeline_url", "node_id", "avatar_url",
    "gravatar_id", "followers_url", "following_url", "gists_url", "starred_url", "subscriptions_url",
    "organizations_url", "repos_url", "received_events_url", "color",
  ]);
  readonly editableFields: ReadonlySet<EditableField> = GITHUB_EDITABLE;
  private readonly client: GitHubClient;
  private readonly writes: GitHubWrites;

  constructor(private readonly ctx: ProviderContext) {
    this.client = new GitHubClient(ctx.http);
    this.writes = new GitHubWrites(this.client);
  }

  async verify(): Promise<Identity> {
    const { me, serverTimeMs } = await this.client.user();
    if (!me || typeof me.login !== "string" || typeof me.id !== "number") throw new RemoteError("GET /user did not return an account");
    return { accountId: String(me.id), displayName: me.name || me.login, email: me.email ?? null, timeZone: null, serverTimeMs };
  }

  async fieldCatalog(): Promise<FieldDef[]> {
    return fieldCatalog();
  }

  async *pull(req: PullRequest): AsyncIterable<Page> {
    const repos = await this.scope(req.projects);
    const since = req.mode === "incremental" ? req.sinceMs : null;
    yield* mergeByUpdated(repos.map((r) => new RepoStream(this.client, r, since)));
  }

  /** Named repositories, else all of `--owner`'s, else all the account can reach. */
  private async scope(projects: string[]): Promise<RepoInfo[]> {
    if (projects.length) return [...new Set(projects.map(normaliseRepo))].map((fullName) => ({ fullName, id: null }));
    const owner = this.ctx.config.options?.owner ?? null;
    const repos = (await this.client.repos(owner)).filter((r) => r.has_issues !== false && typeof r.full_name === "string");
    if (!repos.length) {
      throw new UsageError(owner ? `${owner} has no repositories with issues that this account can see` : "this account cannot see any repository with issues", {
        hint: "choose repositories with `pmsync login github --repo owner/name` (repeatable) or `--owner <organisation or user>`",
      });
    }
    return repos.map((r) => ({ fullName: r.full_name, id: r.id }));
  }

  fetchIssue(key: string): Promise<PulledRecord | null> {
    return this.writes.fetchIssue(key);
  }

  writeIssue(current: PulledRecord, writes: FieldWrite[]): Promise<void> {
    return this.writes.writeIssue(current, writes);
  }

  rawChanges(oldRaw: unknown, newRaw: unknown): FieldChange[] {
    return memberChanges(oldRaw, newRaw, COVERED_MEMBERS, this.ignoredKeys);
  }
}

/**
 * GitHub's rate-limit answers are 403 or 429 (GitHub docs, "Rate limits for the REST API"):
 * Retry-After when present; else remaining 0 → wait for `x-ratelimit-reset` (epoch seconds) plus
 * a second for clock skew; else a secondary limit named in the message → at least a minute. A
 * plain 403 is a permission problem (the generic rules).
 */
export const classifyGitHubResponse: ResponseClassifier = ({ status, headers, text, now }) => {
  if (status !== 403 && status !== 429) return null;
  const retryAfter = parseRetryAfter(headers["retry-after"], now);
  if (retryAfter !== null) return { retry: true, rateLimited: true, waitMs: retryAfter, reason: `HTTP ${status} (rate limited; Retry-After)` };
  if (headers["x-ratelimit-remaining"] === "0") {
    const reset = Number(headers["x-ratelimit-reset"]);
    const waitMs = Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - now.getTime() + 1000) : 60_000;
    return { retry: true, rateLimited: true, waitMs, reason: `HTTP ${status} (GitHub rate limit used up until ${Number.isFinite(reset) ? new Date(reset * 1000).toISOString() : "reset"})` };
  }
  if (/secondary rate limit/i.test(text)) return { retry: true, rateLimited: true, waitMs: 60_000, reason: `HTTP ${status} (GitHub secondary rate limit)` };
  return null;
};

export const github: ProviderModule = {
  editableFields: GITHUB_EDITABLE,
  create: (ctx) => new GitHubProvider(ctx),
  login: {
    tokenLabel: "GitHub personal access token (https://github.com/settings/tokens; fine-grained tokens need Issues: read and write)",
    revokeHint: {
      token: "pmsync does not revoke the token: delete it under https://github.com/settings/tokens if you want it gone.",
      oauth: "pmsync does not revoke the grant: revoke the app under https://github.com/settings/applications if you want it gone.",
    },
    defaultSite: "https://github.com",
    defaultApiUrl: githubDefaultApiUrl,
    needsEmail: false,
    projectNoun: "repository owner/name",
    normaliseProject: normaliseRepo,
  },
  // OAuth App: the web flow needs the client secret (PKCE S256 is sent as well); the device flow
  // does not. `repo` is the narrowest classic scope that can read and write issues.
  oauth: {
    endpoints: githubOAuthUrls,
    scope: "repo",
    defaultPort: 0,
    clientSecret: "required",
    tokenBody: "form",
  },
  classifyResponse: classifyGitHubResponse,
  apiBaseUrl: githubApiBaseUrl,
  authHeaders: githubAuthHeaders,
};
