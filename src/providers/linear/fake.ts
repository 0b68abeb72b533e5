// A faithful Linear fake: real HTTP on 127.0.0.1, `POST /graphql` executed by graphql-js against
// a subset of Linear's schema written in its own SDL (type, field and argument names as in
// linear/linear packages/sdk/src/schema.graphql), so a query Linear would refuse (a misspelt
// field, a wrong argument type) is refused here too, with HTTP 400 as Linear does.
//
// What it models, and the choices where Linear's documentation is silent (UNCONFIRMED):
// - Auth on every request: a personal API key as the bare `Authorization` value, an OAuth token
//   as `Bearer …`. An API key behind `Bearer` is refused with Linear's own hint. A wrong key gets
//   HTTP 400 with `extensions.code: "AUTHENTICATION_ERROR"` (Linear's GraphQL error shape; some
//   API versions answer 401 instead: `authFailureStatus: 401` serves that).
// - Lists are newest first (`orderBy` createdAt by default, or updatedAt, descending), Relay
//   cursors in both directions (`first/after`, `last/before`), opaque keyset cursors, default 50
//   and at most 250 per page. `includeArchived` defaults to false: archived and trashed issues
//   (a trashed issue is archived too) are left out unless asked for.
// - Complexity: object 1, scalar 0.1, a connection multiplies its nodes by `first`/`last`
//   (default 50); a query above 10,000 points is refused before it runs.
// - Rate-limit headers on every answer (`X-RateLimit-Requests-*`, `X-RateLimit-Complexity-*`,
//   `X-Complexity`), resets as epoch milliseconds; the rate-limit fault is HTTP 400 `RATELIMITED`.
// - GraphQL errors raised while resolving (e.g. "Entity not found") come with HTTP 200 and
//   `data` null-propagated, as graphql-js produces them.
// - The clock starts at 2026-11-01T09:00:00Z and moves one second per change.
// - OAuth 2.0 (authorization code, PKCE S256) under `/oauth/…` as on linear.app and
//   api.linear.app: `GET /oauth/authorize` approves at once and redirects to the loopback
//   callback; `POST /oauth/token` takes a form body only, answers `{access_token, token_type:
//   "Bearer", expires_in, refresh_token, scope}` and refuses with RFC 6749's 400 `{error}`. The
//   registered callback is `http://127.0.0.1/callback` or `http://localhost/callback` on any port
//   (Linear's port matching is UNCONFIRMED). With PKCE the client secret is optional; a client
//   without one must send the verifier. Access tokens expire (real clock, default 24 h) and
//   refresh tokens rotate: a spent one is refused with `invalid_grant`.

import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import {
  buildSchema,
  execute,
  getArgumentValues,
  getNamedType,
  GraphQLError,
  isInterfaceType,
  isLeafType,
  isObjectType,
  Kind,
  parse,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLNamedType,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import type { FakeFault, FakeIssueView, FakeTracker, StartFake } from "../fake.js";
import { PRIORITY_NAMES } from "./normalise.js";

const CONNECTION_ARGS = "first: Int, after: String, last: Int, before: String, includeArchived: Boolean, orderBy: PaginationOrderBy";

export const LINEAR_SDL = `
"ISO 8601 date and time."
scalar DateTime
"A date without time, YYYY-MM-DD."
scalar TimelessDate
"An ISO 8601 date and time, or an ISO 8601 duration relative to now."
scalar DateTimeOrDuration

enum PaginationOrderBy { createdAt updatedAt }

type PageInfo { hasPreviousPage: Boolean! hasNextPage: Boolean! startCursor: String endCursor: String }

type User {
  id: ID! name: String! displayName: String! email: String! active: Boolean! admin: Boolean!
  createdAt: DateTime! updatedAt: DateTime! archivedAt: DateTime
}
type UserConnection { nodes: [User!]! pageInfo: PageInfo! }

type Team {
  id: ID! key: String! name: String! createdAt: DateTime! updatedAt: DateTime! archivedAt: DateTime
  states(filter: WorkflowStateFilter, ${CONNECTION_ARGS}): WorkflowStateConnection!
  members(includeDisabled: Boolean, ${CONNECTION_ARGS}): UserConnection!
  labels(${CONNECTION_ARGS}): IssueLabelConnection!
}
type TeamConnection { nodes: [Team!]! pageInfo: PageInfo! }

type WorkflowState {
  id: ID! name: String! type: String! color: String! position: Float! description: String team: Team!
  createdAt: DateTime! updatedAt: DateTime! archivedAt: DateTime
}
type WorkflowStateConnection { nodes: [WorkflowState!]! pageInfo: PageInfo! }

type IssueLabel {
  id: ID! name: String! color: String! description: String team: Team
  createdAt: DateTime! updatedAt: DateTime! archivedAt: DateTime
}
type IssueLabelConnection { nodes: [IssueLabel!]! pageInfo: PageInfo! }

type Cycle { id: ID! number: Float! name: String startsAt: DateTime! endsAt: DateTime! team: Team! }
type Project { id: ID! name: String! url: String! }

type Issue {
  id: ID! identifier: String! number: Float! title: String! description: String
  priority: Float! priorityLabel: String! estimate: Float dueDate: TimelessDate url: String!
  sortOrder: Float! boardOrder: Float! subIssueSortOrder: Float
  createdAt: DateTime! updatedAt: DateTime! startedAt: DateTime completedAt: DateTime canceledAt: DateTime
  archivedAt: DateTime trashed: Boolean
  state: WorkflowState! assignee: User creator: User team: Team! parent: Issue cycle: Cycle project: Project
  labels(${CONNECTION_ARGS}): IssueLabelConnection!
  children(${CONNECTION_ARGS}): IssueConnection!
}
type IssueConnection { nodes: [Issue!]! pageInfo: PageInfo! }

input DateComparator {
  eq: DateTimeOrDuration neq: DateTimeOrDuration in: [DateTimeOrDuration!] nin: [DateTimeOrDuration!]
  lt: DateTimeOrDuration lte: DateTimeOrDuration gt: DateTimeOrDuration gte: DateTimeOrDuration
}
input StringComparator { eq: String neq: String in: [String!] nin: [String!] eqIgnoreCase: String neqIgnoreCase: String }
input IDComparator { eq: ID neq: ID in: [ID!] nin: [ID!] }
input TeamFilter { id: IDComparator key: StringComparator name: StringComparator and: [TeamFilter!] or: [TeamFilter!] }
input WorkflowStateFilter { id: IDComparator name: StringComparator type: StringComparator team: TeamFilter }
input IssueFilter {
  id: IDComparator createdAt: DateComparator updatedAt: DateComparator team: TeamFilter
  and: [IssueFilter!] or: [IssueFilter!]
}

input IssueUpdateInput {
  title: String description: String stateId: String priority: Int assigneeId: String labelIds: [String!]
  dueDate: TimelessDate estimate: Int trashed: Boolean
}
input IssueLabelCreateInput { name: String! teamId: String color: String description: String }

type IssuePayload { lastSyncId: Float! issue: Issue success: Boolean! }
type IssueLabelPayload { lastSyncId: Float! issueLabel: IssueLabel! success: Boolean! }

type Query {
  viewer: User!
  issues(filter: IssueFilter, ${CONNECTION_ARGS}): IssueConnection!
  issue(id: String!): Issue!
  team(id: String!): Team!
  teams(filter: TeamFilter, ${CONNECTION_ARGS}): TeamConnection!
  users(includeDisabled: Boolean, ${CONNECTION_ARGS}): UserConnection!
  workflowStates(filter: WorkflowStateFilter, ${CONNECTION_ARGS}): WorkflowStateConnection!
  issueLabels(${CONNECTION_ARGS}): IssueLabelConnection!
}

type Mutation {
  issueUpdate(id: String!, input: IssueUpdateInput!): IssuePayload!
  issueLabelCreate(input: IssueLabelCreateInput!, replaceTeamLabels: Boolean): IssueLabelPayload!
}
`;

export const MAX_COMPLEXITY = 10_000;
const MAX_PAGE = 250;
const DEFAULT_PAGE = 50;
const START_MS = Date.UTC(2026, 10, 1, 9, 0, 0);
const HOUR = 3_600_000;
const REQUESTS_PER_HOUR = 5_000;
const COMPLEXITY_PER_HOUR = 250_000;
const JSON_TYPE = "application/json; charset=utf-8";
const API_KEY_AS_BEARER = "It looks like you're trying to use an API key as a Bearer token. Remove the Bearer prefix from the Authorization header.";

// ---------------------------------------------------------------------------------------------
// Complexity

/** Linear's published rule of thumb: object 1, scalar 0.1, connections multiply by page size. */
export function estimateComplexity(schema: ReturnType<typeof buildSchema>, document: DocumentNode, variables: Record<string, unknown> = {}): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  let op: OperationDefinitionNode | undefined;
  for (const d of document.definitions) {
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    else if (d.kind === Kind.OPERATION_DEFINITION) op ??= d;
  }
  if (!op) return 0;
  const root = op.operation === "mutation" ? schema.getMutationType() : schema.getQueryType();
  const cost = (set: SelectionSetNode, type: GraphQLNamedType | null | undefined, mult: number): number => {
    let total = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const def = type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields()[sel.name.value] : undefined;
        if (!def) continue;
        const named = getNamedType(def.type);
        let c = 0.1;
        if (sel.selectionSet && !isLeafType(named)) {
          const args = def.args.some((a) => a.name === "first") ? getArgumentValues(def, sel, variables) : {};
          const size = def.args.some((a) => a.name === "first") ? ((args.first as number | undefined) ?? (args.last as number | undefined) ?? DEFAULT_PAGE) : 1;
          c = 1 + cost(sel.selectionSet, named, size);
        }
        total += sel.name.value === "nodes" ? c * mult : c;
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        total += cost(sel.selectionSet, sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type, mult);
      } else {
        const f = fragments.get(sel.name.value);
        if (f) total += cost(f.selectionSet, schema.getType(f.typeCondition.name.value), mult);
      }
    }
    return total;
  };
  return Math.round((root ? cost(op.selectionSet, root, 1) : 0) * 10) / 10;
}

// ---------------------------------------------------------------------------------------------
// Data

interface FUser { id: string; name: string; displayName: string; email: string }
interface FTeam { id: string; key: string; name: string; nextNumber: number }
interface FState { id: string; teamId: string; name: string; type: string; color: string; position: number }
interface FLabel { id: string; teamId: string | null; name: string; color: string }
interface FCycle { id: string; teamId: string; number: number; name: string | null }
interface FProject { id: string; name: string }
interface FIssue {
  id: string;
  teamId: string;
  number: number;
  title: string;
  description: string | null;
  priority: number;
  estimate: number | null;
  dueDate: string | null;
  stateId: string;
  assigneeId: string | null;
  creatorId: string;
  labelIds: string[];
  parentId: string | null;
  cycleId: string | null;
  projectId: string | null;
  sortOrder: number;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  completedAt: number | null;
  canceledAt: number | null;
  archivedAt: number | null;
  trashed: boolean;
}

const STATE_DEFS: readonly [string, string, string][] = [
  ["Triage", "triage", "#fc7840"],
  ["Backlog", "backlog", "#bec2c8"],
  ["Todo", "unstarted", "#e2e2e2"],
  ["In Progress", "started", "#f2c94c"],
  ["In Review", "started", "#0f783c"],
  ["Done", "completed", "#5e6ad2"],
  ["Canceled", "canceled", "#95a2b3"],
  ["Duplicate", "duplicate", "#95a2b3"],
];
const TITLE_VERBS = ["Fix", "Add", "Refactor", "Document", "Investigate", "Speed up"];
const TITLE_NOUNS = ["login flow", "billing export", "search index", "webhook retries", "sync worker", "audit log", "mobile layout"];

function uuid(seed: string): string {
  const h = createHash("sha256").update(`pmsync-linear-fake:${seed}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);

function notFound(entity: string): GraphQLError {
  return new GraphQLError(`Entity not found: ${entity}`, {
    extensions: { type: "invalid input", code: "INVALID_INPUT", userError: true, userPresentableMessage: `Could not find referenced ${entity}.` },
  });
}

function invalidInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { type: "invalid input", code: "INVALID_INPUT", userError: true, userPresentableMessage: message } });
}

// ---------------------------------------------------------------------------------------------
// Paging and filters

type Key = [number, string];
interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

function encodeCursor(key: Key): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

function decodeCursor(cursor: string): Key {
  try {
    const k = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(k) && typeof k[0] === "number" && typeof k[1] === "string") return [k[0], k[1]];
  } catch {
    // fall through
  }
  throw invalidInput(`Invalid cursor: ${cursor}`);
}

/** Relay paging over `items`, already sorted by `cmp` on their keys. */
function paginate<T>(items: T[], args: PageArgs, keyOf: (t: T) => Key, cmp: (a: Key, b: Key) => number, node: (t: T) => unknown) {
  for (const n of [args.first, args.last]) {
    if (n !== null && n !== undefined && (n < 0 || n > MAX_PAGE)) throw invalidInput(`first/last must be between 0 and ${MAX_PAGE}, got ${n}`);
  }
  const first = args.first ?? (args.last === null || args.last === undefined ? DEFAULT_PAGE : null);
  let lo = 0;
  let hi = items.length;
  if (args.after) {
    const k = decodeCursor(args.after);
    while (lo < hi && cmp(keyOf(items[lo]!), k) <= 0) lo++;
  }
  if (args.before) {
    const k = decodeCursor(args.before);
    let b = lo;
    while (b < hi && cmp(keyOf(items[b]!), k) < 0) b++;
    hi = b;
  }
  if (first !== null) hi = Math.min(hi, lo + first);
  if (args.last !== null && args.last !== undefined) lo = Math.max(lo, hi - args.last);
  const page = items.slice(lo, hi);
  return {
    nodes: page.map(node),
    pageInfo: {
      hasPreviousPage: lo > 0,
      hasNextPage: hi < items.length,
      startCursor: page.length ? encodeCursor(keyOf(page[0]!)) : null,
      endCursor: page.length ? encodeCursor(keyOf(page[page.length - 1]!)) : null,
    },
  };
}

const idCompare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const ascending = (a: Key, b: Key) => a[0] - b[0] || idCompare(a[1], b[1]);
const descending = (a: Key, b: Key) => b[0] - a[0] || idCompare(b[1], a[1]);

/** Lists in creation order (users, teams, states, labels). */
function pageInOrder<T extends { id: string }>(items: T[], args: PageArgs, node: (t: T) => unknown) {
  const index = new Map(items.map((t, i) => [t.id, i]));
  return paginate(items, args, (t) => [index.get(t.id)!, t.id], ascending, node);
}

interface StringCmp { eq?: string; neq?: string; in?: string[]; nin?: string[]; eqIgnoreCase?: string; neqIgnoreCase?: string }
function matchString(v: string, c: StringCmp | undefined | null): boolean {
  if (!c) return true;
  if (c.eq != null && v !== c.eq) return false;
  if (c.neq != null && v === c.neq) return false;
  if (c.in != null && !c.in.includes(v)) return false;
  if (c.nin != null && c.nin.includes(v)) return false;
  if (c.eqIgnoreCase != null && v.toLowerCase() !== c.eqIgnoreCase.toLowerCase()) return false;
  if (c.neqIgnoreCase != null && v.toLowerCase() === c.neqIgnoreCase.toLowerCase()) return false;
  return true;
}

const DURATION = /^(-)?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;
/** A DateTimeOrDuration: an ISO instant, or a duration from the fake's now (`-P1D` = a day ago). */
function dateArg(value: unknown, nowMs: number): number {
  if (typeof value === "string") {
    const d = DURATION.exec(value);
    if (d && value !== "P" && value !== "-P") {
      const [, neg, w, dd, h, m, s] = d;
      const ms = ((+(w ?? 0) * 7 + +(dd ?? 0)) * 24 * 3600 + +(h ?? 0) * 3600 + +(m ?? 0) * 60 + +(s ?? 0)) * 1000;
      return neg ? nowMs - ms : nowMs + ms;
    }
    const ms = Date.parse(value);
    if (/^\d{4}-\d{2}-\d{2}/.test(value) && !Number.isNaN(ms)) return ms;
  }
  throw invalidInput(`Invalid DateTimeOrDuration: ${JSON.stringify(value)}`);
}

type DateCmp = Partial<Record<"eq" | "neq" | "lt" | "lte" | "gt" | "gte", string>> & { in?: string[]; nin?: string[] };
function matchDate(v: number, c: DateCmp | undefined | null, nowMs: number): boolean {
  if (!c) return true;
  const d = (x: unknown) => dateArg(x, nowMs);
  if (c.eq != null && v !== d(c.eq)) return false;
  if (c.neq != null && v === d(c.neq)) return false;
  if (c.lt != null && !(v < d(c.lt))) return false;
  if (c.lte != null && !(v <= d(c.lte))) return false;
  if (c.gt != null && !(v > d(c.gt))) return false;
  if (c.gte != null && !(v >= d(c.gte))) return false;
  if (c.in != null && !c.in.map(d).includes(v)) return false;
  if (c.nin != null && c.nin.map(d).includes(v)) return false;
  return true;
}

interface TeamFilter { id?: StringCmp; key?: StringCmp; name?: StringCmp; and?: TeamFilter[]; or?: TeamFilter[] }
function matchTeam(t: FTeam, f: TeamFilter | undefined | null): boolean {
  if (!f) return true;
  return (
    matchString(t.id, f.id) &&
    matchString(t.key, f.key) &&
    matchString(t.name, f.name) &&
    (!f.and || f.and.every((g) => matchTeam(t, g))) &&
    (!f.or || f.or.some((g) => matchTeam(t, g)))
  );
}

interface IssueFilter { id?: StringCmp; createdAt?: DateCmp; updatedAt?: DateCmp; team?: TeamFilter; and?: IssueFilter[]; or?: IssueFilter[] }

// ---------------------------------------------------------------------------------------------
// The fake

export interface LinearFakeOptions {
  /** How a wrong key is answered: Linear's HTTP 400 `AUTHENTICATION_ERROR` (default) or 401. */
  authFailureStatus?: 400 | 401;
  /** Lifetime of the OAuth access tokens the fake issues, in seconds (Linear: about a day). */
  accessTokenTtlS?: number;
}

/** One request to the OAuth endpoints: the query and form parameters as received. */
export interface OAuthLoggedRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  contentType: string | undefined;
  status: number;
}

export interface LoggedRequest {
  authorization: string | undefined;
  status: number;
  query: string | null;
  variables: Record<string, unknown>;
  complexity: number | null;
}

export interface LinearFake extends FakeTracker {
  /** An OAuth access token for the same account (sent as `Bearer`). */
  readonly oauthToken: string;
  /** Every request as received, in order. */
  readonly requests: LoggedRequest[];
  /** Issues seed() added besides the live in-scope ones. */
  readonly extras: { archived: string[]; trashed: string[]; outOfScope: string[] };
  /** Archives an issue as Linear's auto-archive or a person does. */
  archive(key: string): void;
  /** Sets an issue's priority number and workflow state (by name) as a person would. */
  setPriorityAndState(key: string, priority: number, stateName: string): void;
  /** The fake's schema, for estimating a query's complexity as the fake does. */
  readonly schema: ReturnType<typeof buildSchema>;
  /** The fake's OAuth app and endpoints. */
  readonly oauth: { clientId: string; clientSecret: string; authorizeUrl: string; tokenUrl: string };
  /** Every request to `/oauth/…`, in order (the browser's authorize visits included). */
  readonly oauthRequests: readonly OAuthLoggedRequest[];
  /** Every OAuth access token issued so far stops working (refresh tokens still do). */
  expireAccessTokens(): void;
  /** The next authorize request is refused by the user (`error=access_denied`). */
  denyNextAuthorize(): void;
}

class LinearData {
  readonly users: FUser[] = [];
  readonly teams: FTeam[] = [];
  readonly states: FState[] = [];
  readonly labels: FLabel[] = [];
  readonly cycles: FCycle[] = [];
  readonly projects: FProject[] = [];
  readonly issues: FIssue[] = [];
  private readonly byKey = new Map<string, FIssue>();
  private seeded = 0;
  clockMs = START_MS;

  constructor(private readonly baseUrl: string) {
    const people: [string, string][] = [["Ada Lovelace", "ada"], ["Grace Hopper", "grace"], ["Alan Turing", "alan"], ["Katherine Johnson", "katherine"]];
    for (const [name, handle] of people) this.users.push({ id: uuid(`user:${handle}`), name, displayName: handle, email: `${handle}@example.com` });
    for (const [key, name] of [["ENG", "Engineering"], ["OPS", "Operations"], ["DES", "Design"]] as const) {
      const team: FTeam = { id: uuid(`team:${key}`), key, name, nextNumber: 1 };
      this.teams.push(team);
      STATE_DEFS.forEach(([sName, type, color], i) => this.states.push({ id: uuid(`state:${key}:${sName}`), teamId: team.id, name: sName, type, color, position: i }));
      for (let n = 1; n <= 3; n++) this.cycles.push({ id: uuid(`cycle:${key}:${n}`), teamId: team.id, number: n, name: n === 3 ? "Launch week" : null });
    }
    for (const name of ["Bug", "Feature", "Improvement"]) this.labels.push({ id: uuid(`label:${name}`), teamId: null, name, color: "#eb5757" });
    this.labels.push({ id: uuid("label:ENG:backend"), teamId: this.team("ENG").id, name: "backend", color: "#4ea7fc" });
    this.labels.push({ id: uuid("label:ENG:frontend"), teamId: this.team("ENG").id, name: "frontend", color: "#4ea7fc" });
    this.labels.push({ id: uuid("label:OPS:infra"), teamId: this.team("OPS").id, name: "infra", color: "#26b5ce" });
    for (const name of ["Mobile app", "Q4 reliability"]) this.projects.push({ id: uuid(`project:${name}`), name });
  }

  tick(): number {
    this.clockMs += 1000;
    return this.clockMs;
  }

  team(key: string): FTeam {
    return this.teams.find((t) => t.key === key)!;
  }

  identifier(i: FIssue): string {
    return `${this.teams.find((t) => t.id === i.teamId)!.key}-${i.number}`;
  }

  byIdOrKey(id: string): FIssue | undefined {
    return this.issues.find((i) => i.id === id) ?? this.byKey.get(id.toUpperCase());
  }

  mustIssue(key: string): FIssue {
    const i = this.byKey.get(key.toUpperCase());
    if (!i) throw new Error(`the fake has no issue ${key}`);
    return i;
  }

  stateOf(i: FIssue): FState {
    return this.states.find((s) => s.id === i.stateId)!;
  }

  isLive(i: FIssue): boolean {
    return !i.trashed && i.archivedAt === null;
  }

  /** Moves an issue to a state, with Linear's started/completed/canceled timestamps. */
  setState(i: FIssue, state: FState, at: number): void {
    i.stateId = state.id;
    i.startedAt = state.type === "started" ? (i.startedAt ?? at) : state.type === "completed" ? i.startedAt : null;
    i.completedAt = state.type === "completed" ? at : null;
    i.canceledAt = state.type === "canceled" || state.type === "duplicate" ? at : null;
  }

  private add(teamKey: string, n: number, createdAt: number, updatedAt: number): FIssue {
    const team = this.team(teamKey);
    const teamLabels = this.labels.filter((l) => l.teamId === team.id);
    const title = `${TITLE_VERBS[n % TITLE_VERBS.length]} ${TITLE_NOUNS[n % TITLE_NOUNS.length]} (${n})`;
    const sameTeam = this.issues.filter((x) => x.teamId === team.id);
    const cycles = this.cycles.filter((c) => c.teamId === team.id);
    const issue: FIssue = {
      id: uuid(`issue:${n}`),
      teamId: team.id,
      number: team.nextNumber++,
      title,
      description: n % 6 === 5 ? null : `## Context\n\nSeeded issue ${n} for **${team.name}**.\n\n- step one\n- step two`,
      priority: n % 5,
      estimate: [null, 1, 2, 3, 5, 8][n % 6] ?? null,
      dueDate: n % 7 === 0 ? new Date(START_MS + (n % 30) * 86_400_000).toISOString().slice(0, 10) : null,
      stateId: "",
      assigneeId: n % 5 === 4 ? null : this.users[n % this.users.length]!.id,
      creatorId: this.users[(n + 1) % this.users.length]!.id,
      labelIds: n % 4 === 0 ? [this.labels[0]!.id] : n % 4 === 1 ? [this.labels[1]!.id, ...teamLabels.slice(0, 1).map((l) => l.id)] : n % 4 === 3 ? [this.labels[2]!.id] : [],
      parentId: n % 10 === 9 && sameTeam.length ? sameTeam[sameTeam.length - 1]!.id : null,
      cycleId: n % 3 === 0 ? cycles[n % cycles.length]!.id : null,
      projectId: n % 4 === 1 ? this.projects[n % this.projects.length]!.id : null,
      sortOrder: n * 10,
      createdAt,
      updatedAt,
      startedAt: null,
      completedAt: null,
      canceledAt: null,
      archivedAt: null,
      trashed: false,
    };
    const states = this.states.filter((s) => s.teamId === team.id);
    this.setState(issue, states[n % states.length]!, updatedAt);
    this.issues.push(issue);
    this.byKey.set(this.identifier(issue), issue);
    return issue;
  }

  /** `n` live issues in ENG and OPS, then archived and trashed ones and a few in DES (out of scope). */
  seed(n: number): { live: string[]; archived: string[]; trashed: string[]; outOfScope: string[] } {
    const base = this.seeded;
    const live: string[] = [];
    for (let i = 0; i < n; i++) {
      const k = base + i;
      const updated = START_MS - (n - i) * 60_000;
      live.push(this.identifier(this.add(k % 3 === 2 ? "OPS" : "ENG", k, START_MS - 90 * 86_400_000 + k * 600_000, updated)));
    }
    const old = (j: number) => START_MS - 120 * 86_400_000 + j * 60_000;
    const extra = (team: string, j: number) => this.add(team, base + n + j, old(j) - 86_400_000, old(j));
    const archived = [0, 1, 2].map((j) => {
      const i = extra(j === 2 ? "OPS" : "ENG", j);
      this.setState(i, this.states.find((s) => s.teamId === i.teamId && s.type === "completed")!, i.updatedAt);
      i.archivedAt = i.updatedAt;
      return this.identifier(i);
    });
    const gone = extra("ENG", 3);
    gone.trashed = true;
    gone.archivedAt = gone.updatedAt;
    const outOfScope = [4, 5, 6, 7].map((j) => this.identifier(extra("DES", j)));
    this.seeded = base + n + 8;
    return { live, archived, trashed: [this.identifier(gone)], outOfScope };
  }

  // -- GraphQL nodes: plain values, and functions for fields with arguments or links --------------

  userNode(u: FUser | undefined) {
    if (!u) return null;
    const at = iso(START_MS - 365 * 86_400_000);
    return { ...u, active: true, admin: u === this.users[0], createdAt: at, updatedAt: at, archivedAt: null };
  }

  teamNode(t: FTeam) {
    const at = iso(START_MS - 365 * 86_400_000);
    return {
      id: t.id,
      key: t.key,
      name: t.name,
      createdAt: at,
      updatedAt: at,
      archivedAt: null,
      states: (args: PageArgs & { filter?: { type?: StringCmp; name?: StringCmp } }) => {
        const states = this.states.filter((s) => s.teamId === t.id && matchString(s.type, args.filter?.type) && matchString(s.name, args.filter?.name));
        return pageInOrder(states, args, (s) => this.stateNode(s));
      },
      members: (args: PageArgs) => pageInOrder(this.users, args, (u) => this.userNode(u)),
      labels: (args: PageArgs) => pageInOrder(this.labels.filter((l) => l.teamId === t.id), args, (l) => this.labelNode(l)),
    };
  }

  stateNode(s: FState) {
    const at = iso(START_MS - 365 * 86_400_000);
    return { ...s, description: null, createdAt: at, updatedAt: at, archivedAt: null, team: () => this.teamNode(this.teams.find((t) => t.id === s.teamId)!) };
  }

  labelNode(l: FLabel) {
    const at = iso(START_MS - 300 * 86_400_000);
    const team = l.teamId ? this.teams.find((t) => t.id === l.teamId) : undefined;
    return { id: l.id, name: l.name, color: l.color, description: null, createdAt: at, updatedAt: at, archivedAt: null, team: () => (team ? this.teamNode(team) : null) };
  }

  issueNode(i: FIssue): Record<string, unknown> {
    const identifier = this.identifier(i);
    const cycle = this.cycles.find((c) => c.id === i.cycleId);
    const project = this.projects.find((p) => p.id === i.projectId);
    const labels = i.labelIds.map((id) => this.labels.find((l) => l.id === id)!);
    return {
      id: i.id,
      identifier,
      number: i.number,
      title: i.title,
      description: i.description,
      priority: i.priority,
      priorityLabel: i.priority === 0 ? "No priority" : PRIORITY_NAMES[i.priority],
      estimate: i.estimate,
      dueDate: i.dueDate,
      url: `${this.baseUrl}/pmsync-fake/issue/${identifier}/${slug(i.title)}`,
      sortOrder: i.sortOrder,
      boardOrder: i.sortOrder,
      subIssueSortOrder: null,
      createdAt: iso(i.createdAt),
      updatedAt: iso(i.updatedAt),
      startedAt: iso(i.startedAt),
      completedAt: iso(i.completedAt),
      canceledAt: iso(i.canceledAt),
      archivedAt: iso(i.archivedAt),
      trashed: i.trashed ? true : null,
      state: () => this.stateNode(this.stateOf(i)),
      assignee: () => this.userNode(this.users.find((u) => u.id === i.assigneeId)),
      creator: () => this.userNode(this.users.find((u) => u.id === i.creatorId)),
      team: () => this.teamNode(this.teams.find((t) => t.id === i.teamId)!),
      parent: () => {
        const p = this.issues.find((x) => x.id === i.parentId);
        return p ? this.issueNode(p) : null;
      },
      cycle: () =>
        cycle && {
          ...cycle,
          startsAt: iso(START_MS),
          endsAt: iso(START_MS + 14 * 86_400_000),
          team: () => this.teamNode(this.teams.find((t) => t.id === cycle.teamId)!),
        },
      project: () => project && { ...project, url: `${this.baseUrl}/pmsync-fake/project/${slug(project.name)}` },
      labels: (args: PageArgs) => pageInOrder(labels, args, (l) => this.labelNode(l)),
      children: (args: PageArgs & { includeArchived?: boolean }) => this.issuePage(this.issues.filter((x) => x.parentId === i.id), args),
    };
  }

  issuePage(list: FIssue[], args: PageArgs & { includeArchived?: boolean | null; orderBy?: string | null; filter?: IssueFilter | null }) {
    const by: "createdAt" | "updatedAt" = args.orderBy === "updatedAt" ? "updatedAt" : "createdAt";
    const matches = (i: FIssue, f: IssueFilter | null | undefined): boolean =>
      !f ||
      (matchString(i.id, f.id) &&
        matchDate(i.createdAt, f.createdAt, this.clockMs) &&
        matchDate(i.updatedAt, f.updatedAt, this.clockMs) &&
        matchTeam(this.teams.find((t) => t.id === i.teamId)!, f.team) &&
        (!f.and || f.and.every((g) => matches(i, g))) &&
        (!f.or || f.or.some((g) => matches(i, g))));
    const shown = list.filter((i) => (args.includeArchived || i.archivedAt === null) && matches(i, args.filter));
    shown.sort((a, b) => descending([a[by], a.id], [b[by], b.id]));
    return paginate(shown, args, (i) => [i[by], i.id], descending, (i) => this.issueNode(i));
  }

  updateIssue(id: string, input: Record<string, unknown>) {
    const i = this.byIdOrKey(id);
    if (!i) throw notFound("Issue");
    const team = this.teams.find((t) => t.id === i.teamId)!;
    // Check everything before changing anything: Linear applies an update whole or not at all.
    const state = input.stateId != null ? this.states.find((s) => s.id === input.stateId) : undefined;
    if (input.stateId != null && (!state || state.teamId !== team.id)) throw notFound("WorkflowState");
    if (input.title !== undefined && (typeof input.title !== "string" || !input.title.trim())) throw invalidInput("title must not be empty");
    if (input.priority != null && ((input.priority as number) < 0 || (input.priority as number) > 4)) throw invalidInput("priority must be between 0 and 4");
    if (input.assigneeId != null && !this.users.some((u) => u.id === input.assigneeId)) throw notFound("User");
    const labelIds = input.labelIds as string[] | undefined | null;
    for (const lid of labelIds ?? []) {
      const l = this.labels.find((x) => x.id === lid);
      if (!l) throw notFound("IssueLabel");
      if (l.teamId !== null && l.teamId !== team.id) throw invalidInput(`label ${l.name} belongs to another team`);
    }
    if (input.dueDate != null && !/^\d{4}-\d{2}-\d{2}$/.test(String(input.dueDate))) throw invalidInput("dueDate must be a date (YYYY-MM-DD)");
    const at = this.tick();
    if (input.title !== undefined) i.title = input.title as string;
    if (input.description !== undefined) i.description = (input.description as string | null) ?? null;
    if (state) this.setState(i, state, at);
    if (input.priority !== undefined) i.priority = (input.priority as number | null) ?? 0;
    if (input.assigneeId !== undefined) i.assigneeId = (input.assigneeId as string | null) ?? null;
    if (labelIds !== undefined) i.labelIds = [...new Set(labelIds ?? [])];
    if (input.dueDate !== undefined) i.dueDate = (input.dueDate as string | null) ?? null;
    if (input.estimate !== undefined) i.estimate = (input.estimate as number | null) ?? null;
    if (input.trashed !== undefined && input.trashed !== null) {
      i.trashed = input.trashed as boolean;
      i.archivedAt = i.trashed ? at : null;
    }
    i.updatedAt = at;
    return { lastSyncId: at / 1000, success: true, issue: this.issueNode(i) };
  }

  createLabel(input: { name: string; teamId?: string | null; color?: string | null }) {
    const name = input.name.trim();
    if (!name) throw invalidInput("name must not be empty");
    const teamId = input.teamId ?? null;
    if (teamId !== null && !this.teams.some((t) => t.id === teamId)) throw notFound("Team");
    if (this.labels.some((l) => (l.teamId === teamId || l.teamId === null) && l.name.toLowerCase() === name.toLowerCase())) {
      throw invalidInput(`duplicate label name: ${name}`);
    }
    const label: FLabel = { id: uuid(`label:new:${this.labels.length}:${name}`), teamId, name, color: input.color ?? "#bec2c8" };
    this.labels.push(label);
    return { lastSyncId: this.tick() / 1000, success: true, issueLabel: this.labelNode(label) };
  }

  rootValue() {
    return {
      viewer: () => this.userNode(this.users[0]),
      issues: (args: Parameters<LinearData["issuePage"]>[1]) => this.issuePage(this.issues, args),
      issue: ({ id }: { id: string }) => {
        const i = this.byIdOrKey(id);
        if (!i) throw notFound("Issue");
        return this.issueNode(i);
      },
      team: ({ id }: { id: string }) => {
        const t = this.teams.find((x) => x.id === id);
        if (!t) throw notFound("Team");
        return this.teamNode(t);
      },
      teams: (args: PageArgs & { filter?: TeamFilter }) => pageInOrder(this.teams.filter((t) => matchTeam(t, args.filter)), args, (t) => this.teamNode(t)),
      users: (args: PageArgs) => pageInOrder(this.users, args, (u) => this.userNode(u)),
      workflowStates: (args: PageArgs) => pageInOrder(this.states, args, (s) => this.stateNode(s)),
      issueLabels: (args: PageArgs) => pageInOrder(this.labels, args, (l) => this.labelNode(l)),
      issueUpdate: ({ id, input }: { id: string; input: Record<string, unknown> }) => this.updateIssue(id, input),
      issueLabelCreate: ({ input }: { input: { name: string; teamId?: string | null; color?: string | null } }) => this.createLabel(input),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// OAuth (linear.app/oauth/authorize, api.linear.app/oauth/token)

const SCOPES = new Set(["read", "write", "issues:create", "comments:create", "timeSchedule:write", "admin"]);
const CODE_TTL_MS = 10 * 60_000;
const FORM_TYPE = "application/x-www-form-urlencoded";
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

interface AuthCode { redirectUri: string; scope: string[]; challenge: string | null; expiresAt: number; used: boolean }
/** What a refresh token carries on to the tokens it is exchanged for. */
interface Grant { scope: string[]; confidential: boolean }

const hex = (seed: string, n: number) => createHash("sha256").update(`pmsync-linear-fake:${seed}`).digest("hex").slice(0, n);

class LinearOAuth {
  // Linear shows both as 32 hex characters in the app's settings.
  readonly clientId = hex("client-id", 32);
  readonly clientSecret = hex("client-secret", 32);
  readonly requests: OAuthLoggedRequest[] = [];
  denyNext = false;
  private readonly codes = new Map<string, AuthCode>();
  /** Access token → when it stops working (real clock: pmsync compares `expires_at` to it). */
  private readonly access = new Map<string, number>();
  private readonly refresh = new Map<string, Grant>();

  constructor(private readonly ttlS: number) {}

  accepts(accessToken: string): boolean {
    const until = this.access.get(accessToken);
    return until !== undefined && Date.now() < until;
  }

  expireAll(): void {
    for (const t of this.access.keys()) this.access.set(t, 0);
  }

  /** Token endpoint calls are pmsync's; authorize visits are the browser's. */
  tokenRequests(): number {
    return this.requests.filter((r) => r.path === "/oauth/token").length;
  }

  handle(method: string, url: URL, contentType: string | undefined, raw: string): Reply {
    const form = (contentType ?? "").startsWith(FORM_TYPE) ? Object.fromEntries(new URLSearchParams(raw)) : {};
    const log: OAuthLoggedRequest = { method, path: url.pathname, params: { ...Object.fromEntries(url.searchParams), ...form }, contentType, status: 0 };
    this.requests.push(log);
    let reply: Reply;
    if (url.pathname === "/oauth/authorize" && method === "GET") reply = this.authorize(url.searchParams);
    else if (url.pathname === "/oauth/token" && method === "POST") reply = this.token(contentType, form);
    else reply = { status: 404, headers: { "content-type": "text/plain" }, body: "Not Found" };
    log.status = reply.status;
    return reply;
  }

  /**
   * The consent page, approved at once. A wrong client or callback gets an error page (never a
   * redirect to an address the app did not register); everything else goes back to the callback.
   */
  private authorize(q: URLSearchParams): Reply {
    const page = (text: string): Reply => ({ status: 400, headers: { "content-type": "text/html; charset=utf-8" }, body: `<!doctype html><html><body><p>${text}</p></body></html>` });
    if (q.get("client_id") !== this.clientId) return page("Invalid client_id: no OAuth application has this client id.");
    let cb: URL;
    try {
      cb = new URL(q.get("redirect_uri") ?? "");
    } catch {
      return page("Invalid redirect_uri.");
    }
    if (cb.protocol !== "http:" || !LOOPBACK_HOSTS.has(cb.hostname) || cb.pathname !== "/callback" || cb.hash) {
      return page("Invalid redirect_uri: it is not one of the application's callback URLs.");
    }
    const back = (params: Record<string, string>): Reply => {
      for (const [k, v] of Object.entries(params)) cb.searchParams.set(k, v);
      const state = q.get("state");
      if (state !== null) cb.searchParams.set("state", state);
      return { status: 302, headers: { location: cb.toString() }, body: "" };
    };
    if (q.get("response_type") !== "code") return back({ error: "unsupported_response_type", error_description: "response_type must be code" });
    // Comma-separated: "read write" is one unknown scope here, as on linear.app.
    const scope = (q.get("scope") ?? "read").split(",").map((x) => x.trim());
    const unknown = scope.find((x) => !SCOPES.has(x));
    if (unknown !== undefined) return back({ error: "invalid_scope", error_description: `Invalid scope: ${unknown}` });
    const challenge = q.get("code_challenge");
    if (challenge !== null && q.get("code_challenge_method") !== "S256") return back({ error: "invalid_request", error_description: "code_challenge_method must be S256" });
    if (this.denyNext) {
      this.denyNext = false;
      return back({ error: "access_denied", error_description: "The user denied the authorization request" });
    }
    const code = randomBytes(16).toString("hex");
    this.codes.set(code, { redirectUri: q.get("redirect_uri")!, scope, challenge, expiresAt: Date.now() + CODE_TTL_MS, used: false });
    return back({ code });
  }

  private token(contentType: string | undefined, p: Record<string, string>): Reply {
    const refuse = (error: string, description: string): Reply => ({
      status: 400,
      headers: { "content-type": JSON_TYPE, "cache-control": "no-store" },
      body: JSON.stringify({ error, error_description: description }),
    });
    if (!(contentType ?? "").startsWith(FORM_TYPE)) return refuse("invalid_request", `Content-Type must be ${FORM_TYPE}`);
    if (p.client_id !== this.clientId) return refuse("invalid_client", "Client authentication failed");
    if (p.client_secret !== undefined && p.client_secret !== this.clientSecret) return refuse("invalid_client", "Client authentication failed");
    const confidential = p.client_secret !== undefined;
    if (p.grant_type === "authorization_code") {
      // The redirect_uri is compared before the code is touched, so a mismatch leaves it usable.
      const c = this.codes.get(p.code ?? "");
      if (!c || c.used || Date.now() > c.expiresAt) return refuse("invalid_grant", "The authorization code is invalid, expired or already used");
      if (p.redirect_uri !== c.redirectUri) return refuse("invalid_grant", "redirect_uri does not match the one of the authorization request");
      if (c.challenge === null && !confidential) return refuse("invalid_client", "client_secret is required without PKCE");
      if (c.challenge !== null && createHash("sha256").update(p.code_verifier ?? "").digest("base64url") !== c.challenge) {
        return refuse("invalid_grant", "code_verifier does not match the code_challenge");
      }
      c.used = true;
      return this.issue({ scope: c.scope, confidential });
    }
    if (p.grant_type === "refresh_token") {
      const g = this.refresh.get(p.refresh_token ?? "");
      if (!g) return refuse("invalid_grant", "The refresh token is invalid, expired or revoked");
      if (g.confidential && !confidential) return refuse("invalid_client", "client_secret is required for this refresh token");
      this.refresh.delete(p.refresh_token!); // rotation: a refresh token works once
      return this.issue(g);
    }
    return p.grant_type ? refuse("unsupported_grant_type", `Unsupported grant_type: ${p.grant_type}`) : refuse("invalid_request", "grant_type is required");
  }

  private issue(g: Grant): Reply {
    const accessToken = `lin_oauth_${randomBytes(32).toString("hex")}`;
    const refreshToken = `lin_refresh_${randomBytes(32).toString("hex")}`;
    this.access.set(accessToken, Date.now() + this.ttlS * 1000);
    this.refresh.set(refreshToken, g);
    return {
      status: 200,
      headers: { "content-type": JSON_TYPE, "cache-control": "no-store" },
      // Linear's documented example gives `scope` as an array of the granted scopes.
      body: JSON.stringify({ access_token: accessToken, token_type: "Bearer", expires_in: this.ttlS, refresh_token: refreshToken, scope: g.scope }),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The server

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function errorsReply(status: number, message: string, extensions: Record<string, unknown>): Reply {
  return { status, headers: { "content-type": JSON_TYPE }, body: JSON.stringify({ errors: [{ message, extensions }] }) };
}

const authError = (status: number, message: string) =>
  errorsReply(status, message, {
    type: "authentication error",
    code: "AUTHENTICATION_ERROR",
    statusCode: 401,
    userError: true,
    userPresentableMessage: "You need to authenticate to access this operation.",
  });

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= 1_048_576) chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startLinearFake(options: LinearFakeOptions = {}): Promise<LinearFake> {
  const schema = buildSchema(LINEAR_SDL);
  const token = `lin_api_${createHash("sha256").update("pmsync-linear-fake:key").digest("hex").slice(0, 40)}`;
  const oauthToken = `lin_oauth_${createHash("sha256").update("pmsync-linear-fake:oauth").digest("hex").slice(0, 48)}`;
  const requests: LoggedRequest[] = [];
  const oauth = new LinearOAuth(options.accessTokenTtlS ?? 24 * 3600);
  const faults: { kind: FakeFault; remaining: number }[] = [];
  const extras = { archived: [] as string[], trashed: [] as string[], outOfScope: [] as string[] };
  const windowStart = Date.now();
  let complexityUsed = 0;
  let data!: LinearData;

  const rateHeaders = (cost: number): Record<string, string> => {
    const reset = String(windowStart + HOUR);
    return {
      "x-ratelimit-requests-limit": String(REQUESTS_PER_HOUR),
      "x-ratelimit-requests-remaining": String(Math.max(0, REQUESTS_PER_HOUR - requests.length)),
      "x-ratelimit-requests-reset": reset,
      "x-complexity": String(cost),
      "x-ratelimit-complexity-limit": String(COMPLEXITY_PER_HOUR),
      "x-ratelimit-complexity-remaining": String(Math.max(0, Math.round(COMPLEXITY_PER_HOUR - complexityUsed))),
      "x-ratelimit-complexity-reset": reset,
    };
  };

  const takeFault = (): FakeFault | null => {
    const f = faults[0];
    if (!f) return null;
    if (--f.remaining <= 0) faults.shift();
    return f.kind;
  };

  /** null = authenticated. */
  const checkAuth = (authorization: string | undefined): Reply | null => {
    const failure = options.authFailureStatus ?? 400;
    if (authorization === token || authorization === `Bearer ${oauthToken}`) return null;
    const bearer = /^Bearer (\S+)$/.exec(authorization ?? "")?.[1];
    if (bearer !== undefined && oauth.accepts(bearer)) return null;
    if (authorization === `Bearer ${token}`) return authError(failure, API_KEY_AS_BEARER);
    return authError(failure, "Authentication required, not authenticated");
  };

  const graphql = async (raw: string, log: LoggedRequest): Promise<Reply> => {
    let body: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      return errorsReply(400, "POST body sent invalid JSON.", { code: "BAD_REQUEST" });
    }
    if (typeof body.query !== "string" || !body.query) return errorsReply(400, "Must provide query string.", { code: "BAD_REQUEST" });
    const variables = body.variables && typeof body.variables === "object" ? (body.variables as Record<string, unknown>) : {};
    log.query = body.query;
    log.variables = variables;
    let document: DocumentNode;
    try {
      document = parse(body.query);
    } catch (err) {
      return errorsReply(400, (err as GraphQLError).message, { code: "GRAPHQL_PARSE_FAILED" });
    }
    const invalid = validate(schema, document);
    if (invalid.length) {
      return { status: 400, headers: { "content-type": JSON_TYPE }, body: JSON.stringify({ errors: invalid.map((e) => ({ ...e.toJSON(), extensions: { code: "GRAPHQL_VALIDATION_FAILED" } })) }) };
    }
    let cost: number;
    try {
      cost = estimateComplexity(schema, document, variables);
    } catch (err) {
      return errorsReply(400, (err as Error).message, { code: "BAD_USER_INPUT" });
    }
    log.complexity = cost;
    if (cost > MAX_COMPLEXITY) {
      // Linear's wording for this refusal is not published; the limit and the 400 are.
      return errorsReply(400, `Query too complex: complexity ${cost} is above the maximum of ${MAX_COMPLEXITY}`, {
        type: "invalid input",
        code: "QUERY_TOO_COMPLEX",
        userError: true,
      });
    }
    complexityUsed += cost;
    const result = await execute({
      schema,
      document,
      rootValue: data.rootValue(),
      variableValues: variables,
      ...(typeof body.operationName === "string" ? { operationName: body.operationName } : {}),
    });
    // Errors before execution (variables that do not fit their types) leave no `data`: a bad request.
    const status = "data" in result && result.data !== undefined ? 200 : 400;
    return { status, headers: { "content-type": JSON_TYPE, ...rateHeaders(cost) }, body: JSON.stringify(result) };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req);
    const where = new URL(req.url ?? "/", "http://fake");
    if (where.pathname.startsWith("/oauth/")) {
      // The OAuth endpoints are not the GraphQL API: no faults, no rate-limit headers.
      const reply = oauth.handle(req.method ?? "GET", where, req.headers["content-type"], raw);
      res.writeHead(reply.status, { ...reply.headers, "content-length": String(Buffer.byteLength(reply.body)) });
      res.end(reply.body);
      return;
    }
    const log: LoggedRequest = { authorization: req.headers.authorization, status: 0, query: null, variables: {}, complexity: null };
    requests.push(log);
    let reply: Reply;
    const fault = takeFault();
    const path = new URL(req.url ?? "/", "http://fake").pathname;
    if (fault === "server_error") {
      reply = { status: 502, headers: { "content-type": "text/html" }, body: "<html><body><h1>502 Bad Gateway</h1></body></html>" };
    } else if (fault === "rate_limit") {
      const headers = { ...rateHeaders(0), "x-ratelimit-requests-remaining": "0", "x-ratelimit-requests-reset": String(Date.now() + 1000) };
      reply = { ...errorsReply(400, "Rate limit exceeded", { code: "RATELIMITED" }), headers: { "content-type": JSON_TYPE, ...headers } };
    } else if (fault === "malformed") {
      reply = { status: 200, headers: { "content-type": JSON_TYPE, ...rateHeaders(0) }, body: '{"data":{"issues":{"nodes":[{"id":"' };
    } else if (path !== "/graphql") {
      reply = { status: 404, headers: { "content-type": "text/plain" }, body: "Not Found" };
    } else if (req.method !== "POST") {
      reply = errorsReply(400, "GET query missing.", { code: "BAD_REQUEST" });
    } else {
      reply = checkAuth(req.headers.authorization) ?? (await graphql(raw, log));
      if (!reply.headers["x-ratelimit-requests-limit"]) Object.assign(reply.headers, rateHeaders(0));
    }
    log.status = reply.status;
    res.writeHead(reply.status, { ...reply.headers, "content-length": String(Buffer.byteLength(reply.body)) });
    res.end(reply.body);
  };

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String((err as Error)?.stack ?? err));
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  data = new LinearData(url);

  const view = (key: string): FakeIssueView | undefined => {
    let i: FIssue;
    try {
      i = data.mustIssue(key);
    } catch {
      return undefined;
    }
    return {
      title: i.title,
      description: i.description,
      status: data.stateOf(i).name,
      priority: PRIORITY_NAMES[i.priority] ?? null,
      assignee: data.users.find((u) => u.id === i.assigneeId)?.name ?? null,
      labels: i.labelIds.map((id) => data.labels.find((l) => l.id === id)!.name),
      due_date: i.dueDate,
    };
  };

  return {
    provider: "linear",
    url,
    token,
    oauthToken,
    schema,
    requests,
    extras,
    loginArgs: ["--site", url, "--project", "ENG", "--project", "OPS"],
    seed(n) {
      const s = data.seed(n);
      extras.archived.push(...s.archived);
      extras.trashed.push(...s.trashed);
      extras.outOfScope.push(...s.outOfScope);
      return s.live;
    },
    editTitle(key, title, atMs) {
      const i = data.mustIssue(key);
      i.title = title;
      i.updatedAt = atMs ?? data.tick();
    },
    maxUpdatedMs() {
      return Math.max(...data.issues.filter((i) => data.isLive(i)).map((i) => i.updatedAt));
    },
    touchVolatile(key) {
      // Dragging an issue on the board moves its sortOrder, which pmsync does not request.
      data.mustIssue(key).sortOrder += 0.5;
    },
    remove(key) {
      // issueDelete: to the trash (restorable for 30 days), which archives it too.
      const i = data.mustIssue(key);
      i.trashed = true;
      i.archivedAt = i.updatedAt = data.tick();
    },
    archive(key) {
      const i = data.mustIssue(key);
      i.archivedAt = i.updatedAt = data.tick();
    },
    setPriorityAndState(key, priority, stateName) {
      const i = data.mustIssue(key);
      const state = data.states.find((s) => s.teamId === i.teamId && s.name === stateName);
      if (!state) throw new Error(`no state ${stateName} in the team of ${key}`);
      const at = data.tick();
      i.priority = priority;
      data.setState(i, state, at);
      i.updatedAt = at;
    },
    fail(kind, count) {
      faults.push({ kind, remaining: count });
    },
    requestCount() {
      return requests.length + oauth.tokenRequests();
    },
    view,
    vocabulary: {
      inProgressStatus: "In Progress",
      doneStatus: "Done",
      priorities: ["Urgent", "High", "Medium", "Low"],
      users: ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson"],
    },
    oauth: { clientId: oauth.clientId, clientSecret: oauth.clientSecret, authorizeUrl: `${url}/oauth/authorize`, tokenUrl: `${url}/oauth/token` },
    oauthRequests: oauth.requests,
    expireAccessTokens() {
      oauth.expireAll();
    },
    denyNextAuthorize() {
      oauth.denyNext = true;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const startFake: StartFake = () => startLinearFake();
