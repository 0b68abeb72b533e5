// The Linear GraphQL calls pmsync makes, typed by what it reads from them, and Linear's error
// and rate-limit signals: GraphQL errors arrive with HTTP 200 (or 400 for rate limits,
// authentication and invalid queries) instead of HTTP error statuses alone.

import { AuthError, RemoteError } from "../../errors.js";
import { parseRetryAfter, type HttpClient, type ResponseClassifier } from "../../http/client.js";

export interface LinearUser {
  id: string;
  name: string;
  displayName: string;
  email: string | null;
}

export interface LinearState {
  id: string;
  name: string;
  type: string;
}

export interface LinearLabel {
  id: string;
  name: string;
}

export interface LinearTeamRef {
  id: string;
  key: string;
  name: string;
}

/** One issue as pmsync requests it (ISSUE_FRAGMENT). */
export interface LinearIssue {
  id: string;
  identifier: string;
  title: string | null;
  description: string | null;
  priority: number | null;
  priorityLabel: string | null;
  estimate: number | null;
  dueDate: string | null;
  url: string | null;
  createdAt: string | null;
  updatedAt: string;
  completedAt: string | null;
  canceledAt: string | null;
  archivedAt: string | null;
  trashed: boolean | null;
  state: LinearState | null;
  assignee: LinearUser | null;
  creator: LinearUser | null;
  labels: { nodes: LinearLabel[] } | null;
  team: LinearTeamRef | null;
  parent: { identifier: string } | null;
  cycle: { name: string | null; number: number } | null;
  project: { name: string } | null;
}

export interface Connection<T> {
  nodes: T[];
  pageInfo: { hasNextPage?: boolean; endCursor?: string | null; hasPreviousPage?: boolean; startCursor?: string | null };
}

interface GraphQLErrorJson {
  message?: string;
  extensions?: { code?: string; type?: string; userPresentableMessage?: string };
}

export interface GraphQLEnvelope<T> {
  data?: T | null;
  errors?: GraphQLErrorJson[];
}

/** Labels per issue in a pull; an issue with more shows the first 20. */
export const LABELS_PER_ISSUE = 20;

/**
 * Issues per page. Linear refuses a query above 10,000 complexity points (object 1, scalar 0.1,
 * a connection multiplies what it holds by its page size). One issue as requested costs about
 * 1 (issue) + 15 × 0.1 (scalars) + 7 small objects (state, assignee, creator, team, parent,
 * cycle, project: 8.8 with their scalars) + labels(first: 20) 1 + 20 × (1 + 2 × 0.1) = 25,
 * ≈ 36.3 points; 100 issues ≈ 3,630 points plus the page info: a third of the limit, so the
 * estimate may be off by a lot before a page is refused. (The fake computes the same estimate and
 * refuses above 10,000; test/providers/linear.test.ts checks this query against it.)
 */
export const PAGE_SIZE = 100;

export const ISSUE_FRAGMENT = `fragment PmsyncIssue on Issue {
  id identifier title description priority priorityLabel estimate dueDate url
  createdAt updatedAt completedAt canceledAt archivedAt trashed
  state { id name type }
  assignee { id name displayName email }
  creator { id name displayName email }
  labels(first: ${LABELS_PER_ISSUE}) { nodes { id name } }
  team { id key name }
  parent { identifier }
  cycle { name number }
  project { name }
}`;

/**
 * Linear lists newest first (`orderBy: updatedAt` sorts by `updatedAt` descending). Walking the
 * list from its end with `last`/`before` yields the oldest changes first, so every committed
 * page moves the cursor only past what is already stored: a sync killed between pages resumes
 * without skipping the older pages it had not reached (SPEC §5.1).
 */
export const ISSUES_QUERY = `query PmsyncIssues($last: Int!, $before: String, $filter: IssueFilter) {
  issues(last: $last, before: $before, orderBy: updatedAt, includeArchived: true, filter: $filter) {
    nodes { ...PmsyncIssue }
    pageInfo { hasPreviousPage startCursor }
  }
}
${ISSUE_FRAGMENT}`;

export const ISSUE_QUERY = `query PmsyncIssue($id: String!) { issue(id: $id) { ...PmsyncIssue } }
${ISSUE_FRAGMENT}`;

const VIEWER_QUERY = "query PmsyncViewer { viewer { id name email } }";

/** Where to log in again; loaded on demand (providers/http.ts imports the registry, which imports us). */
export type LoginHint = () => Promise<string>;

export class LinearClient {
  constructor(
    private readonly http: HttpClient,
    private readonly loginHint: LoginHint,
  ) {}

  /** The answer as Linear sent it, GraphQL errors included (fetchIssue reads "not found" from them). */
  async envelope<T>(endpoint: string, query: string, variables: Record<string, unknown> = {}): Promise<{ body: GraphQLEnvelope<T>; headers: Record<string, string> }> {
    let res;
    try {
      res = await this.http.json<GraphQLEnvelope<T>>({ method: "POST", path: "/graphql", body: { query, variables }, endpoint });
    } catch (err) {
      throw await this.explain(err, endpoint);
    }
    const body = res.data;
    if (!body || typeof body !== "object") throw new RemoteError(`Linear answered the ${endpoint} request without a GraphQL response`);
    return { body, headers: res.headers };
  }

  /** The data of a query, or a typed error for Linear's GraphQL errors. */
  async query<T>(endpoint: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const { body } = await this.envelope<T>(endpoint, query, variables);
    if (body.errors?.length) throw await this.graphqlError(body.errors, endpoint);
    if (!body.data) throw new RemoteError(`Linear answered the ${endpoint} request without data`);
    return body.data;
  }

  async viewer(): Promise<{ viewer: { id: string; name: string; email: string | null }; serverTimeMs: number | null }> {
    const { body, headers } = await this.envelope<{ viewer: { id: string; name: string; email: string | null } }>("viewer", VIEWER_QUERY);
    if (body.errors?.length) throw await this.graphqlError(body.errors, "viewer");
    const date = headers["date"] ? Date.parse(headers["date"]) : Number.NaN;
    return { viewer: body.data?.viewer as { id: string; name: string; email: string | null }, serverTimeMs: Number.isNaN(date) ? null : date };
  }

  async issues(variables: { last: number; before?: string; filter?: Record<string, unknown> }): Promise<Connection<LinearIssue>> {
    const data = await this.query<{ issues: Connection<LinearIssue> }>("issues", ISSUES_QUERY, variables);
    return data.issues;
  }

  async graphqlError(errors: GraphQLErrorJson[], endpoint: string): Promise<Error> {
    const text = errors.map((e) => e.extensions?.userPresentableMessage ?? e.message ?? "unknown error").join("; ");
    if (errors.some((e) => e.extensions?.code === "AUTHENTICATION_ERROR")) {
      return new AuthError(`Linear rejected the credentials: ${text}`, { hint: `run \`${await this.loginHint()}\`` });
    }
    return new RemoteError(`Linear refused the ${endpoint} request: ${text}`);
  }

  /**
   * Linear answers a wrong or revoked API key with HTTP 400 (`AUTHENTICATION_ERROR`), the same
   * status as an invalid query; the HTTP client does not hand the body of a failed request back.
   * The who-am-I query is fixed and valid, so a 400 on it (rate limits are retried before this)
   * is the credential; for any other query the who-am-I call tells the two apart.
   */
  private async explain(err: unknown, endpoint: string): Promise<unknown> {
    if (!(err instanceof RemoteError) || err.status !== 400) return err;
    const credentialRejected = async () =>
      new AuthError(`Linear rejected the credentials (HTTP 400 from its GraphQL API)`, { hint: `run \`${await this.loginHint()}\``, cause: err });
    if (endpoint === "viewer") return credentialRejected();
    try {
      await this.http.json({ method: "POST", path: "/graphql", body: { query: VIEWER_QUERY }, endpoint: "viewer" });
    } catch (probe) {
      if (probe instanceof AuthError || (probe instanceof RemoteError && probe.status === 400)) return credentialRejected();
    }
    return new RemoteError(`Linear refused pmsync's ${endpoint} request as invalid (HTTP 400) while the credentials work; please report this`, {
      status: 400,
      cause: err,
    });
  }
}

function errorCodes(text: string): string[] {
  try {
    const body = JSON.parse(text) as GraphQLEnvelope<unknown>;
    return Array.isArray(body.errors) ? body.errors.map((e) => e?.extensions?.code ?? "") : [];
  } catch {
    return [];
  }
}

/** Linear's reset headers are epoch milliseconds; epoch seconds are accepted too (by magnitude). */
export function resetAtMs(value: string | undefined): number | null {
  if (value === undefined || !/^\d+(\.\d+)?$/.test(value.trim())) return null;
  const n = Number(value);
  return n >= 1e11 ? n : n * 1000;
}

const FALLBACK_WAIT_MS = 60_000;

/** How long to wait after a rate-limit answer: until the exhausted budget resets. */
export function rateLimitWaitMs(headers: Record<string, string>, nowMs: number): number {
  // The complexity budget is the one spent when its remaining count is zero; else the request budget.
  const complexitySpent = headers["x-ratelimit-complexity-remaining"] !== undefined && Number(headers["x-ratelimit-complexity-remaining"]) <= 0;
  const at =
    (complexitySpent ? resetAtMs(headers["x-ratelimit-complexity-reset"]) : null) ??
    resetAtMs(headers["x-ratelimit-requests-reset"]) ??
    resetAtMs(headers["x-ratelimit-complexity-reset"]);
  return at === null ? FALLBACK_WAIT_MS : Math.max(0, Math.round(at - nowMs));
}

/** Linear signals rate limits as HTTP 400 with `extensions.code: "RATELIMITED"` (429 also counts). */
export const classifyLinearResponse: ResponseClassifier = ({ status, headers, text, now }) => {
  const limited = status === 429 || (status === 400 && errorCodes(text).includes("RATELIMITED"));
  if (!limited) return null;
  const waitMs = parseRetryAfter(headers["retry-after"], now) ?? rateLimitWaitMs(headers, now.getTime());
  return { retry: true, rateLimited: true, waitMs, reason: `rate limited by Linear (HTTP ${status}${status === 400 ? " RATELIMITED" : ""})` };
};
