// The GitHub REST calls pmsync makes, typed by what it reads from them. Pages are followed
// through the `Link: rel="next"` URL exactly as GitHub gives it (GitHub's own advice: never
// build page URLs), but only on the API's own origin, so the token never goes elsewhere.

import { RemoteError, UsageError } from "../../errors.js";
import type { HttpClient, JsonResponse, RequestSpec } from "../../http/client.js";
import type { IssueRef } from "./auth.js";

export const GITHUB_API_VERSION = "2022-11-28";
/** GitHub's largest page for list endpoints. */
export const PAGE_SIZE = 100;

export interface GitHubUser {
  login: string;
  id: number;
  name?: string | null;
  email?: string | null;
}

export interface GitHubRepo {
  id: number;
  name: string;
  full_name: string;
  has_issues?: boolean;
}

export interface GitHubLabel {
  name: string;
}

/** A list or a single issue as GitHub sends it; pmsync keeps the whole object as `raw`. */
export type GitHubIssue = Record<string, unknown> & { id: number; number: number };

/** The URL of `rel="next"` in a Link header, or null. */
export function nextLink(link: string | undefined): string | null {
  if (!link) return null;
  for (const m of link.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
    const rel = /;\s*rel="?([^";]*)"?/i.exec(m[2] ?? "")?.[1] ?? "";
    if (rel.split(/\s+/).includes("next")) return m[1]!;
  }
  return null;
}

const path = (ref: Pick<IssueRef, "repo">) => `/repos/${ref.repo}`;

export class GitHubClient {
  constructor(private readonly http: HttpClient) {}

  private call<T>(spec: RequestSpec): Promise<JsonResponse<T>> {
    return this.http.json<T>({ ...spec, headers: { accept: "application/vnd.github+json", "x-github-api-version": GITHUB_API_VERSION, ...spec.headers } });
  }

  async user(): Promise<{ me: GitHubUser; serverTimeMs: number | null }> {
    const res = await this.call<GitHubUser>({ method: "GET", path: "/user", endpoint: "user" });
    const date = res.headers["date"] ? Date.parse(res.headers["date"]) : Number.NaN;
    return { me: res.data, serverTimeMs: Number.isNaN(date) ? null : date };
  }

  /** A list endpoint's page, and the next page's URL. */
  async listPage<T>(spec: Pick<RequestSpec, "path" | "query" | "endpoint" | "accept">): Promise<{ status: number; items: T[]; next: string | null }> {
    const res = await this.call<T[]>({ method: "GET", ...spec });
    if (res.status >= 300) return { status: res.status, items: [], next: null };
    if (!Array.isArray(res.data)) throw new RemoteError(`${spec.endpoint}: GitHub did not answer with a list; the page was not written`);
    return { status: res.status, items: res.data, next: this.sameOrigin(nextLink(res.headers["link"])) };
  }

  private sameOrigin(url: string | null): string | null {
    if (url === null) return null;
    const api = new URL(this.http.url({ path: "/" }));
    let next: URL;
    try {
      next = new URL(url);
    } catch {
      throw new RemoteError(`GitHub sent a malformed next-page link (${url})`);
    }
    if (next.origin !== api.origin) throw new RemoteError(`GitHub's next-page link points to ${next.origin}, not the API (${api.origin}); not followed`);
    return url;
  }

  /** Every page of a list endpoint. */
  private async all<T>(spec: Pick<RequestSpec, "path" | "query" | "endpoint">): Promise<T[]> {
    return this.rest(await this.listPage<T>(spec), spec.endpoint);
  }

  /** A first page's items and those of every page after it. */
  private async rest<T>(first: { items: T[]; next: string | null }, endpoint: string): Promise<T[]> {
    const out = [...first.items];
    for (let url = first.next; url; ) {
      const page: { items: T[]; next: string | null } = await this.listPage<T>({ path: url, endpoint });
      out.push(...page.items);
      url = page.next;
    }
    return out;
  }

  /**
   * The repositories in scope when none are named: an owner's (organisation first, then user:
   * `/orgs/x` is 404 for a user account), or every repository the account can reach.
   */
  async repos(owner: string | null): Promise<GitHubRepo[]> {
    const query = { per_page: PAGE_SIZE };
    if (owner === null) return this.all<GitHubRepo>({ path: "/user/repos", query, endpoint: "repos" });
    const o = encodeURIComponent(owner);
    let first = await this.listPage<GitHubRepo>({ path: `/orgs/${o}/repos`, query: { ...query, type: "all" }, endpoint: "repos", accept: [404] });
    if (first.status === 404) first = await this.listPage<GitHubRepo>({ path: `/users/${o}/repos`, query, endpoint: "repos", accept: [404] });
    if (first.status === 404) throw new UsageError(`GitHub has no organisation or user "${owner}" that this account can see`, { hint: "check --owner" });
    return this.rest(first, "repos");
  }

  /** A repository's issue list (pull requests included: GitHub mixes them in). */
  issuesPath(repo: string): string {
    return `${path({ repo })}/issues`;
  }

  url(p: string, query: Record<string, string | number>): string {
    return this.http.url({ path: p, query });
  }

  /**
   * One issue. With an ETag from an earlier read, GitHub answers 304 when nothing changed (free:
   * 304s do not count against the rate limit). 404/410/301 = gone from this repository.
   */
  async issue(ref: IssueRef, etag: string | null): Promise<JsonResponse<GitHubIssue | undefined>> {
    return this.call<GitHubIssue | undefined>({
      method: "GET",
      path: `${path(ref)}/issues/${ref.number}`,
      endpoint: "issue",
      accept: [304, 301, 404, 410],
      ...(etag ? { headers: { "if-none-match": etag } } : {}),
    });
  }

  /** Validation failures (422) and a vanished issue come back to the caller, who names them. */
  async updateIssue(ref: IssueRef, body: Record<string, unknown>): Promise<JsonResponse<unknown>> {
    return this.call<unknown>({ method: "PATCH", path: `${path(ref)}/issues/${ref.number}`, body, endpoint: "issue_update", accept: [301, 404, 410, 422] });
  }

  /** GitHub drops an assignee it cannot assign without a word, so pmsync asks first: 204 yes, 404 no. */
  async assignable(repo: string, login: string): Promise<boolean> {
    const res = await this.call<unknown>({ method: "GET", path: `${path({ repo })}/assignees/${encodeURIComponent(login)}`, endpoint: "assignees", accept: [404] });
    return res.status === 204;
  }

  async labels(repo: string): Promise<GitHubLabel[]> {
    return this.all<GitHubLabel>({ path: `${path({ repo })}/labels`, query: { per_page: PAGE_SIZE }, endpoint: "labels" });
  }
}
