// The Jira Cloud provider: `/rest/api/3/search/jql` with `nextPageToken` paging and explicit
// fields; incremental pulls by `updated`, sent as epoch milliseconds so the account's profile time
// zone cannot shift the window (PROVIDERS.md §12.1).

import { RemoteError } from "../../errors.js";
import { memberChanges } from "../member-changes.js";
import type { EditableField, FieldChange, FieldDef, FieldWrite, Identity, Page, Provider, ProviderContext, ProviderModule, PulledRecord, PullRequest, RawPage, SplitPull } from "../provider.js";
import { jiraApiBaseUrl, jiraAuthHeaders } from "./auth.js";
import { splitArrayBody } from "../../http/json-array.js";
import { continuationOf, JiraClient, parseSearchPage, peekContinuation, SEARCH_PAGE_SIZE, type JiraIssue, type JiraSearchPage, type JiraSearchRequest } from "./client.js";
import { pullBySplit } from "../split-pull.js";
import { knownFields, requestedFields, toFieldDef, type KnownFields } from "./fields.js";
import { coveredRawFields, normaliseIssue } from "./normalise.js";
import { EDITABLE_FIELDS, JiraWrites } from "./writes.js";

const MINUTE = 60_000;

/** Lazily: a parsed issue is normalised, then serialised by the caller, before the next is parsed. */
function* normaliseAll(issues: Iterable<JiraIssue>, site: string, known: KnownFields): Generator<PulledRecord> {
  for (const issue of issues) yield normaliseIssue(issue, site, known);
}

export function buildJql(req: Pick<PullRequest, "mode" | "sinceMs" | "projects">): string {
  const clauses: string[] = [];
  if (req.projects.length) clauses.push(`project in (${req.projects.map((p) => JSON.stringify(p)).join(", ")})`);
  if (req.mode === "incremental" && req.sinceMs !== null) {
    // JQL compares at minute precision: round down so the window only ever grows.
    clauses.push(`updated >= ${Math.floor(req.sinceMs / MINUTE) * MINUTE}`);
  } else {
    // Enhanced search refuses unbounded JQL; this bound selects everything.
    clauses.push(`created >= "1970-01-01"`);
  }
  return `${clauses.join(" AND ")} ORDER BY updated ASC, key ASC`;
}

class JiraProvider implements Provider {
  readonly name = "jira";
  // `parent.fields` is Jira's copy of the parent's summary/status: it changes when the parent
  // does, without this issue's `updated` moving. The parent reference (id, key) stays.
  readonly volatilePaths = ["fields.lastViewed", "fields.watches", "fields.votes", "fields.parent.fields"];
  // Links, not content: about half of every Jira payload (avatar URLs of each user, `self` URLs).
  readonly ignoredKeys: ReadonlySet<string> = new Set(["self", "avatarUrls", "iconUrl"]);
  private readonly client: JiraClient;
  private readonly writes: JiraWrites;
  private covered = new Set<string>();
  private catalogOnce: Promise<FieldDef[]> | undefined;

  constructor(private readonly ctx: ProviderContext) {
    this.client = new JiraClient(ctx.http);
    this.writes = new JiraWrites(this.client, () => this.catalog(), ctx.config.site);
  }

  async verify(): Promise<Identity> {
    const { me, serverTimeMs } = await this.client.myself();
    if (!me || typeof me.accountId !== "string") throw new RemoteError("/rest/api/3/myself did not return an account");
    return { accountId: me.accountId, displayName: me.displayName, email: me.emailAddress ?? null, timeZone: me.timeZone ?? null, serverTimeMs };
  }

  async fieldCatalog(): Promise<FieldDef[]> {
    const fields = await this.client.fields();
    if (!Array.isArray(fields)) throw new RemoteError("/rest/api/3/field did not return a list of fields");
    const catalog = fields.map(toFieldDef);
    this.covered = coveredRawFields(knownFields(catalog));
    return catalog;
  }

  pull(req: PullRequest): AsyncIterable<Page> {
    return pullBySplit(this.split, req);
  }

  readonly split: SplitPull = {
    fetchPages: (req, bodyBuffer) => this.fetchPages(req, bodyBuffer),
    decodePage: (raw, req) => {
      // Issue by issue where the body allows (http/json-array.ts), else the whole page at once.
      const split = splitArrayBody(raw.body, "issues", () => parseSearchPage(raw.body).issues);
      const page = split ? (split.rest as unknown as JiraSearchPage) : parseSearchPage(raw.body);
      if (raw.next !== undefined && continuationOf(page) !== raw.next) {
        throw new RemoteError("a search page's nextPageToken was misread before parsing; the page was not written (please report this)");
      }
      return { records: normaliseAll(split ? (split.elements as Iterable<JiraIssue>) : page.issues, this.ctx.config.site, knownFields(req.catalog)) };
    },
  };

  private async *fetchPages(req: PullRequest, bodyBuffer?: (size: number) => ArrayBuffer): AsyncIterable<RawPage> {
    this.covered = coveredRawFields(knownFields(req.catalog));
    const base: JiraSearchRequest = { jql: buildJql(req), fields: requestedFields(req.catalog), maxResults: SEARCH_PAGE_SIZE };
    const fetchPage = (nextPageToken: string | null) => {
      const body = nextPageToken ? { ...base, nextPageToken } : base;
      const refetch = () => this.client.searchBytes(body);
      const p = this.client.searchBytes(body, bodyBuffer).then((bytes) => ({ bytes, refetch }));
      p.catch(() => undefined); // awaited below; this only stops an unhandled-rejection warning
      return p;
    };
    let pending = fetchPage(null);
    for (;;) {
      const { bytes, refetch } = await pending;
      // Read where the listing goes on without parsing, so the next page downloads while this one
      // is parsed; a body that does not say parses here first.
      let next = peekContinuation(bytes);
      if (next === undefined) next = continuationOf(parseSearchPage(bytes));
      if (next !== null) pending = fetchPage(next);
      yield { body: bytes, next, refetch };
      if (next === null) return;
    }
  }

  readonly editableFields: ReadonlySet<EditableField> = EDITABLE_FIELDS;

  async fetchIssue(key: string): Promise<PulledRecord | null> {
    return this.writes.fetchIssue(key);
  }

  async writeIssue(current: PulledRecord, writes: FieldWrite[]): Promise<void> {
    return this.writes.writeIssue(current, writes);
  }

  /** The field catalog for reads and writes outside a pull: fetched once per provider object. */
  private catalog(): Promise<FieldDef[]> {
    if (!this.catalogOnce) {
      this.catalogOnce = this.fieldCatalog();
      this.catalogOnce.catch(() => (this.catalogOnce = undefined)); // a failure is not remembered
    }
    return this.catalogOnce;
  }

  rawChanges(oldRaw: unknown, newRaw: unknown): FieldChange[] {
    const fields = (raw: unknown) => (raw as { fields?: unknown } | null)?.fields;
    return memberChanges(fields(oldRaw), fields(newRaw), this.covered, this.ignoredKeys);
  }
}

export const jira: ProviderModule = {
  editableFields: EDITABLE_FIELDS,
  create: (ctx) => new JiraProvider(ctx),
  login: {
    tokenLabel: "Jira API token (https://id.atlassian.com/manage-profile/security/api-tokens)",
    revokeHint: {
      token: "Jira has no API to revoke API tokens: delete it under https://id.atlassian.com/manage-profile/security/api-tokens if you want it gone.",
      oauth: "Jira has no API to revoke the app's grant: remove it under https://id.atlassian.com/manage-profile/apps if you want it gone.",
    },
    needsEmail: true,
    projectNoun: "project key",
  },
  apiBaseUrl: jiraApiBaseUrl,
  authHeaders: jiraAuthHeaders,
};
