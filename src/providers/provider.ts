// The one interface every tracker implements. A provider knows its tracker's API; the sync
// engine (src/core/engine.ts) knows the cache. Between them flow pages of normalised records,
// each with the raw payload it came from.

import type { HttpClient, ResponseClassifier } from "../http/client.js";
import type { ConnectionConfig } from "../config.js";
import type { Secret } from "../auth/credentials.js";

export type StatusCategory = "todo" | "in_progress" | "done" | "cancelled";

/** The unified issue: the export columns (SPEC §8) that come from the tracker. */
export interface NormalisedIssue {
  id: string;
  key: string;
  url: string | null;
  project: string | null;
  type: string | null;
  title: string | null;
  description: string | null;
  status: string | null;
  status_category: StatusCategory | null;
  priority: string | null;
  assignee: string | null;
  reporter: string | null;
  labels: string[];
  parent: string | null;
  sprint: string | null;
  story_points: number | null;
  due_date: string | null;
  /** ISO 8601 UTC. */
  created_at: string | null;
  updated_at: string | null;
  resolved_at: string | null;
}

export interface PulledRecord {
  issue: NormalisedIssue;
  /** The server's `updated` value in epoch milliseconds: the cursor is built from these. */
  updatedMs: number;
  /** The remote payload as received. The engine strips volatile members and hashes it. */
  raw: unknown;
  /** Project as the provider knows it, recorded in the `projects` table. */
  projectInfo?: { key: string; id: string | null; name: string | null };
}

export interface Page {
  records: PulledRecord[];
}

/** A decoded page whose records may be parsed only as they are reached: iterate once. */
export interface DecodedPage {
  records: Iterable<PulledRecord>;
}

/**
 * A page as fetched, not yet parsed: a provider that can read the continuation out of the bytes
 * (Jira's `nextPageToken`) asks for the next page at once and leaves the parsing to another
 * thread (see `SplitPull`).
 */
export interface RawPage {
  body: Buffer;
  /** The continuation the fetcher followed (null: it stopped here); the decoder checks it. */
  next: string | null;
  /** Fetches the same page again: a body that does not parse is retried once (SPEC §5.3). */
  refetch(): Promise<Buffer>;
}

/**
 * `pull` in two halves, so pages can be decoded on other threads while the next ones download.
 * `decodePage` is pure and throws MalformedBodyError for a body that does not parse, possibly
 * only while its records are read.
 */
export interface SplitPull {
  /** Bodies are read into buffers from `bodyBuffer` when given (see RequestSpec.bodyBuffer). */
  fetchPages(request: PullRequest, bodyBuffer?: (size: number) => ArrayBuffer): AsyncIterable<RawPage>;
  /**
   * `next` is what the fetcher read ahead, checked against the parsed page; absent for a page
   * fetched again (its token may differ: the listing already went on with the first one).
   */
  decodePage(page: { body: Buffer; next?: string | null }, request: PullRequest): DecodedPage;
}

export interface PullRequest {
  mode: "full" | "incremental";
  /** Incremental only: pull what changed at or after this instant (cursor minus overlap). */
  sinceMs: number | null;
  /** Project keys in scope; empty = everything the account can see. */
  projects: string[];
  catalog: FieldDef[];
}

export interface FieldDef {
  id: string;
  name: string;
  /** A readable type, e.g. `string`, `number`, `array<json>`. */
  type: string;
  custom: boolean;
  /** The provider's own schema description (Jira `schema`), kept for the mapping scorer. */
  schema: unknown;
}

export interface Identity {
  accountId: string;
  displayName: string;
  email: string | null;
  timeZone: string | null;
  /** The server's clock (its `Date` header) when it answered, in epoch ms; for clock-skew checks. */
  serverTimeMs: number | null;
}

export interface Provider {
  readonly name: string;
  /** Dot paths into `raw` that change without an edit (view times, counters). */
  readonly volatilePaths: readonly string[];
  /**
   * Member names left out of `raw` and the hash at any depth: hypermedia that is not issue
   * content (Jira's `self` links and avatar URLs).
   */
  readonly ignoredKeys: ReadonlySet<string>;
  /** The who-am-I call: verifies the credential. */
  verify(): Promise<Identity>;
  fieldCatalog(): Promise<FieldDef[]>;
  pull(request: PullRequest): AsyncIterable<Page>;
  /** The same pull split into fetching and decoding (optional; the pull worker uses it). */
  readonly split?: SplitPull;
  /**
   * Changes between two stored payloads in fields the unified columns do not show (e.g. Jira
   * fixVersions), for the change log. Values are JSON text.
   */
  rawChanges(oldRaw: unknown, newRaw: unknown): FieldChange[];
  /** The unified fields this provider can write (SPEC §5.4). */
  readonly editableFields: ReadonlySet<EditableField>;
  /** Re-reads one issue by key (push reads the remote value first); null when it is gone. */
  fetchIssue(key: string): Promise<PulledRecord | null>;
  /**
   * Writes unified field values to the tracker, each through the provider's own mechanism
   * (Jira transitions, GitHub state + state_reason, Linear stateId, Redmine status_id). Names
   * are resolved (status, priority, assignee); one that does not exist is a UsageError naming
   * the choices. Tracker refusals become RemoteError with the tracker's message.
   */
  writeIssue(current: PulledRecord, writes: FieldWrite[]): Promise<void>;
}

export type EditableField = "title" | "description" | "status" | "priority" | "assignee" | "labels" | "due_date" | "story_points";

/**
 * A value in unified terms, as the export shows it: title/description/status/priority text,
 * assignee as the export's `assignee` column shows it (display name or login; an email or
 * account id is also accepted), labels as the complete new list, due_date `YYYY-MM-DD`,
 * story_points a number. null clears the field.
 */
export type FieldValue = string | number | string[] | null;

export interface FieldWrite {
  field: EditableField;
  value: FieldValue;
}

export interface FieldChange {
  field: string;
  old: string | null;
  new: string | null;
}

export interface ProviderContext {
  connectionName: string;
  config: ConnectionConfig;
  secret: Secret;
  http: HttpClient;
}

/** What `pmsync login <provider>` with a token needs and what it defaults to. */
export interface TokenLoginSpec {
  /** Prompt text for the token, with where to create one. */
  tokenLabel: string;
  /** Where a person revokes what logout only forgets (pmsync does not revoke remotely). */
  revokeHint: { token: string; oauth?: string };
  /** The site used when --site is not given (GitHub: https://github.com); absent = required. */
  defaultSite?: string;
  /** Where API calls go for a site when --api-url is not given (github.com → api.github.com). */
  defaultApiUrl?(site: string): string | undefined;
  /** Jira's Basic auth needs the account email. */
  needsEmail: boolean;
  /** What a `--project` value names here, for help and errors ("repository owner/name"). */
  projectNoun: string;
  /** Checks and normalises a `--project` value; throws UsageError when it is malformed. */
  normaliseProject?(value: string): string;
}

/** OAuth 2.0 for providers that offer it beyond Jira's own 3LO flow (GitHub, Linear). */
export interface OAuthSpec {
  /** The endpoints for a site: github.com → github.com/login/oauth/…, GitHub Enterprise and the fakes → <site>/login/oauth/…. */
  endpoints(site: string): { authorizeUrl: string; tokenUrl: string; deviceCodeUrl?: string; revokeUrl?: string };
  /** Scopes, joined as the provider wants them (GitHub: spaces, Linear: commas). */
  scope: string;
  /** Loopback port: 0 = any free port (GitHub); else the one the app registered (Linear). */
  defaultPort: number;
  /** GitHub's web flow needs the secret; Linear with PKCE does not. */
  clientSecret: "required" | "optional";
  /** How the token endpoint takes its parameters (RFC 6749 says form; some also take JSON). */
  tokenBody: "form" | "json";
  /** Extra authorize parameters (Linear: `prompt=consent`). */
  authorizeParams?: Record<string, string>;
}

export interface ProviderModule {
  /** What push may write (the same set as each provider's `editableFields`); edit/import check it offline. */
  readonly editableFields: ReadonlySet<EditableField>;
  /** Browser (and device) login, where the provider has it. */
  readonly oauth?: OAuthSpec;
  /** Builds a provider for a saved connection. */
  create(ctx: ProviderContext): Provider;
  readonly login: TokenLoginSpec;
  /** The provider's rate-limit signals beyond 429/Retry-After (see HttpClientOptions.classify). */
  readonly classifyResponse?: ResponseClassifier;
  /** The base URL API calls go to, from the connection's settings. */
  apiBaseUrl(config: ConnectionConfig): string;
  /** Turns a secret into request headers. */
  authHeaders(secret: Secret, config: ConnectionConfig): Record<string, string>;
}
