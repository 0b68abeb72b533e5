// The Linear provider: GraphQL `issues` with `includeArchived: true` (Linear hides archived and
// trashed issues otherwise), filtered by `updatedAt >= since` and team keys, walked oldest change
// first with cursors; writes through `issueUpdate` (writes.ts).

import { RemoteError } from "../../errors.js";
import { memberChanges } from "../member-changes.js";
import type { EditableField, FieldChange, FieldDef, FieldWrite, Identity, Page, Provider, ProviderContext, ProviderModule, PulledRecord, PullRequest } from "../provider.js";
import { LINEAR_API, LINEAR_SITE, linearApiBaseUrl, linearAuthHeaders, linearDefaultApiUrl, normaliseTeamKey } from "./auth.js";
import { classifyLinearResponse, LinearClient, PAGE_SIZE, type Connection, type LinearIssue } from "./client.js";
import { fieldCatalog } from "./fields.js";
import { COVERED_MEMBERS, isGone, normaliseIssue } from "./normalise.js";
import { LinearWrites } from "./writes.js";

/** The `IssueFilter` for a pull: changed since (incremental only), in the scoped teams. */
export function issueFilter(req: Pick<PullRequest, "mode" | "sinceMs" | "projects">): Record<string, unknown> | undefined {
  const filter: Record<string, unknown> = {};
  // Linear compares `updatedAt` at millisecond precision; `gte` keeps the cursor instant itself.
  if (req.mode === "incremental" && req.sinceMs !== null) filter.updatedAt = { gte: new Date(req.sinceMs).toISOString() };
  if (req.projects.length) filter.team = { key: { in: req.projects } };
  return Object.keys(filter).length ? filter : undefined;
}

/** Every unified field has a Linear counterpart (story points = `estimate`). */
const LINEAR_EDITABLE: ReadonlySet<EditableField> = new Set<EditableField>([
  "title", "description", "status", "priority", "assignee", "labels", "due_date", "story_points",
]);

class LinearProvider implements Provider {
  readonly name = "linear";
  // GraphQL returns only what is asked for, and pmsync asks for nothing that changes without an
  // edit: the board positions (`sortOrder`, `boardOrder`, `subIssueSortOrder`) and the counters
  // of reactions and comments are left out of the query rather than stripped afterwards.
  readonly volatilePaths: readonly string[] = [];
  readonly ignoredKeys: ReadonlySet<string> = new Set();
  readonly editableFields: ReadonlySet<EditableField> = LINEAR_EDITABLE;
  private readonly client: LinearClient;
  private readonly writes: LinearWrites;

  constructor(ctx: ProviderContext) {
    // providers/http.ts imports the registry, which imports this module: load it when needed.
    const hint = async () => (await import("../http.js")).loginHint(ctx.connectionName, ctx.config);
    this.client = new LinearClient(ctx.http, hint);
    this.writes = new LinearWrites(this.client);
  }

  async verify(): Promise<Identity> {
    const { viewer, serverTimeMs } = await this.client.viewer();
    if (!viewer || typeof viewer.id !== "string") throw new RemoteError("Linear's viewer query did not return an account");
    // Linear's API has no per-user time zone that pmsync needs: it compares instants.
    return { accountId: viewer.id, displayName: viewer.name, email: viewer.email ?? null, timeZone: null, serverTimeMs };
  }

  async fieldCatalog(): Promise<FieldDef[]> {
    return fieldCatalog();
  }

  /**
   * Trashed and archived issues are requested (so the answer is the same whether Linear counts
   * a trashed issue as archived or not) and left out of the pages: a full pull then marks a
   * cached one deleted. An incremental pull leaves it as it was in the cache until the next full
   * pull, since the engine marks deletions only on full pulls.
   */
  async *pull(req: PullRequest): AsyncIterable<Page> {
    const filter = issueFilter(req);
    const fetchPage = (before?: string) => {
      const p = this.client.issues({ last: PAGE_SIZE, ...(before ? { before } : {}), ...(filter ? { filter } : {}) });
      p.catch(() => undefined); // awaited below; this only stops an unhandled-rejection warning
      return p;
    };
    let pending: Promise<Connection<LinearIssue>> = fetchPage();
    for (;;) {
      const page = await pending;
      if (!page || !Array.isArray(page.nodes) || !page.pageInfo) throw new RemoteError("a Linear issues page has no nodes or pageInfo; the page was not written");
      const cursor = page.pageInfo.startCursor;
      const more = page.pageInfo.hasPreviousPage === true && typeof cursor === "string" && cursor !== "";
      // Ask for the next page while this one is written.
      if (more) pending = fetchPage(cursor);
      yield { records: page.nodes.filter((n) => !isGone(n)).map((n) => normaliseIssue(n)) };
      if (!more) return;
    }
  }

  fetchIssue(key: string): Promise<PulledRecord | null> {
    return this.writes.fetchIssue(key);
  }

  writeIssue(current: PulledRecord, writes: FieldWrite[]): Promise<void> {
    return this.writes.writeIssue(current, writes);
  }

  /** Linear's own `project` (the unified `project` is the team), and archive/trash flags. */
  rawChanges(oldRaw: unknown, newRaw: unknown): FieldChange[] {
    return memberChanges(oldRaw, newRaw, COVERED_MEMBERS, this.ignoredKeys);
  }
}

/**
 * Linear's OAuth endpoints: the consent page on linear.app, the token endpoint on the API host
 * (PROVIDERS.md §3.1). Any other site (a fake, a proxy) serves both under its own `/oauth/`.
 */
export function linearOAuthUrls(site: string): { authorizeUrl: string; tokenUrl: string; revokeUrl: string } {
  const base = site.replace(/\/+$/, "");
  let host = "";
  try {
    host = new URL(base).hostname;
  } catch {
    // not a URL: login's normaliseSite has refused it already
  }
  if (host === "linear.app" || host.endsWith(".linear.app")) {
    return { authorizeUrl: `${LINEAR_SITE}/oauth/authorize`, tokenUrl: `${LINEAR_API}/oauth/token`, revokeUrl: `${LINEAR_API}/oauth/revoke` };
  }
  return { authorizeUrl: `${base}/oauth/authorize`, tokenUrl: `${base}/oauth/token`, revokeUrl: `${base}/oauth/revoke` };
}

export const linear: ProviderModule = {
  editableFields: LINEAR_EDITABLE,
  create: (ctx) => new LinearProvider(ctx),
  // An OAuth app used as a public client: PKCE (S256) stands in for the client secret, which
  // Linear then makes optional. Scopes are comma-separated. Whether Linear matches a loopback
  // callback on any port is unconfirmed, so the app registers one fixed port
  // (http://127.0.0.1:9877/callback; another with --port). Access tokens last about a day and
  // come with rotating refresh tokens; the token endpoint takes a form body.
  oauth: {
    endpoints: linearOAuthUrls,
    scope: "read,write",
    defaultPort: 9877,
    clientSecret: "optional",
    tokenBody: "form",
    authorizeParams: { prompt: "consent" },
  },
  login: {
    tokenLabel: "Linear personal API key (Linear → Settings → Security & access → Personal API keys)",
    revokeHint: {
      token: "pmsync does not revoke the key: delete it in Linear → Settings → Security & access → Personal API keys if you want it gone.",
      oauth: "pmsync does not revoke the grant: revoke the app in Linear → Settings → Security & access → Authorized applications if you want it gone.",
    },
    defaultSite: LINEAR_SITE,
    defaultApiUrl: linearDefaultApiUrl,
    needsEmail: false,
    projectNoun: "team key",
    normaliseProject: normaliseTeamKey,
  },
  classifyResponse: classifyLinearResponse,
  apiBaseUrl: linearApiBaseUrl,
  authHeaders: linearAuthHeaders,
};
