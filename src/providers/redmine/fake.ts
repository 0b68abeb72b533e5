// A faithful fake Redmine 5.0 for tests: real HTTP on 127.0.0.1 answering the JSON REST API the
// way the real server does (shapes captured in /work/shared/reference/redmine-samples/, behaviour
// checked against Redmine 5.0.4):
// - auth by `X-Redmine-API-Key` (or `key=`); a wrong or missing key is the *anonymous* user, who
//   may read issues of public projects (200) but gets 401 (empty body) on /users/current.json,
//   writes and admin pages;
// - /issues.json lists OPEN issues unless `status_id=*`; short filters (`updated_on=%3E%3D…`,
//   `project_id=<identifier>` with subprojects, 404 when unknown) and the long `f[]/op[]/v[]` form;
//   `sort=updated_on` ascending (`:desc`), `id DESC` appended as Redmine does; `offset`/`limit`
//   clamped to 100 with `total_count`;
// - PUT answers 204 with no body, or 422 `{"errors":[…]}`; like Redmine it silently keeps the
//   status when the id is unknown or the workflow forbids it, and ignores `assigned_to_id: null`;
// - 404 and 403 (custom fields for a non-admin) have empty bodies; timestamps `2026-…T…Z` at
//   second precision; floats keep Ruby's `0.0`.
// Faults: `rate_limit` is 429 + `Retry-After: 1` with an HTML page: Redmine has no rate limit of its
// own, a reverse proxy in front of it (nginx limit_req) answers like that. `server_error` is
// Redmine's HTML 500 page. `malformed` is a 200 whose JSON is cut off.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Rng } from "../../sandbox/random.js";
import type { FakeFault, FakeIssueView, FakeTracker, StartFake } from "../fake.js";

const START_MS = Date.UTC(2026, 10, 1, 9, 0, 0);
const TOKEN = "5f0c8e1d2b3a49c6a7e8f9d0c1b2a3e4f5a6b7c8";
const MAX_LIMIT = 100;

interface Principal {
  id: number;
  name: string;
  kind: "user" | "group";
  login?: string;
  firstname?: string;
  lastname?: string;
  mail?: string;
  admin?: boolean;
}

interface FakeProject {
  id: number;
  name: string;
  identifier: string;
  parentId: number | null;
  createdOn: number;
}

interface FakeIssue {
  id: number;
  projectId: number;
  trackerId: number;
  statusId: number;
  priorityId: number;
  authorId: number;
  assignedToId: number | null;
  fixedVersionId: number | null;
  parentId: number | null;
  subject: string;
  description: string | null;
  startDate: string | null;
  dueDate: string | null;
  doneRatio: number;
  estimatedHours: number | null;
  spentHours: number;
  custom: Map<number, string | string[]>;
  createdOn: number;
  updatedOn: number;
  closedOn: number | null;
}

const STATUSES = [
  { id: 1, name: "New", is_closed: false },
  { id: 2, name: "In Progress", is_closed: false },
  { id: 3, name: "Resolved", is_closed: false },
  { id: 4, name: "Feedback", is_closed: false },
  { id: 5, name: "Closed", is_closed: true },
  { id: 6, name: "Rejected", is_closed: true },
];
const PRIORITIES = [
  { id: 1, name: "Low", is_default: false, active: true },
  { id: 2, name: "Normal", is_default: true, active: true },
  { id: 3, name: "High", is_default: false, active: true },
  { id: 4, name: "Urgent", is_default: false, active: true },
  { id: 5, name: "Immediate", is_default: false, active: true },
];
const ENABLED_STANDARD_FIELDS = ["assigned_to_id", "category_id", "fixed_version_id", "parent_issue_id", "start_date", "due_date", "estimated_hours", "done_ratio", "description"];
const TRACKERS = ["Bug", "Feature", "Support"].map((name, i) => ({
  id: i + 1,
  name,
  default_status: { id: 1, name: "New" },
  description: null,
  enabled_standard_fields: ENABLED_STANDARD_FIELDS,
}));
const trackerRefs = TRACKERS.map((t) => ({ id: t.id, name: t.name }));
const customField = (id: number, name: string, format: string, extra: Record<string, unknown> = {}, type = "issue") => ({
  id,
  name,
  customized_type: type,
  field_format: format,
  regexp: "",
  min_length: null,
  max_length: null,
  is_required: false,
  is_filter: true,
  searchable: format === "string",
  multiple: false,
  default_value: null,
  visible: true,
  ...extra,
  ...(type === "issue" ? { trackers: trackerRefs, roles: [] } : {}),
});
const PLATFORMS = ["Linux", "macOS", "Windows"];
const CUSTOM_FIELDS = [
  customField(1, "Customer Ref", "string"),
  customField(2, "Story Points", "float"),
  customField(3, "Platforms", "list", { multiple: true, possible_values: PLATFORMS.map((v) => ({ value: v, label: v })) }),
  customField(4, "Cost Centre", "string", {}, "user"),
];
const ISSUE_CUSTOM_FIELDS = CUSTOM_FIELDS.filter((f) => f.customized_type === "issue");
const VERSIONS = [
  { id: 1, name: "Sprint 41" },
  { id: 2, name: "Sprint 42" },
];
const PRINCIPALS: Principal[] = [
  { id: 1, kind: "user", login: "admin", firstname: "Redmine", lastname: "Admin", mail: "admin@example.net", admin: true, name: "Redmine Admin" },
  { id: 2, kind: "user", login: "ada", firstname: "Ada", lastname: "Lovelace", mail: "ada@example.net", name: "Ada Lovelace" },
  { id: 3, kind: "user", login: "grace", firstname: "Grace", lastname: "Hopper", mail: "grace@example.net", name: "Grace Hopper" },
  { id: 4, kind: "user", login: "linus", firstname: "Linus", lastname: "Torvalds", mail: "linus@example.net", name: "Linus Torvalds" },
  { id: 10, kind: "group", name: "Developers" },
];
const ROLES = { manager: { id: 3, name: "Manager" }, developer: { id: 4, name: "Developer" } };
/** test-project's members (Linus is not one, the admin neither: he can assign himself as author only). */
const MEMBERS = [
  { id: 1, principal: 2, roles: [ROLES.developer] },
  { id: 2, principal: 3, roles: [ROLES.manager] },
  { id: 3, principal: 10, roles: [ROLES.developer] },
];

const HTML_500 =
  '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8" />\n<title>Redmine 500 error</title>\n</head>\n<body>\n<h1>Internal error</h1>\n' +
  "<p>An error occurred on the page you were trying to access.<br />\nIf you continue to experience problems please contact your Redmine administrator for assistance.</p>\n</body>\n</html>\n";
const HTML_429 = "<html>\r\n<head><title>429 Too Many Requests</title></head>\r\n<body>\r\n<center><h1>429 Too Many Requests</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

const time = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const keyOf = (id: number) => `#${id}`;
const idOf = (key: string) => Number(/^#?(\d+)$/.exec(key)?.[1] ?? Number.NaN);

/** Ruby renders floats with a decimal point (`0.0`); JSON.stringify would write `0`. */
class RubyFloat {
  constructor(readonly value: number) {}
  toJSON(): string {
    return `\u0000F${this.value}\u0000`;
  }
}
const float = (v: number | null) => (v === null ? null : new RubyFloat(v));
function rubyJson(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000F([^\\]+)\\u0000"/g, (_, n: string) => (/[.e]/.test(n) ? n : `${n}.0`));
}

/** Redmine's Query#parse_date: a timestamp when the value has a time part, else the day's start (UTC here). */
function parseDateValue(v: string | undefined): number | null {
  if (!v) return null;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : Number.NaN;
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000) * 1000;
}

type Filter = { field: string; op: string; values: string[] };

/** `add_short_filter`: the longest operator the expression starts with, else `=` with `|`-separated values. */
function shortFilter(field: string, expression: string, operators: string[]): Filter {
  const op = [...operators].sort().reverse().find((o) => expression.startsWith(o));
  if (op === undefined) return { field, op: "=", values: expression.split("|") };
  const rest = expression.slice(op.length);
  return { field, op, values: rest ? rest.split("|") : [""] };
}
const STATUS_OPERATORS = ["o", "=", "!", "c", "*"];
const DATE_OPERATORS = ["=", ">=", "<=", "><", "!*", "*"];

export interface RedmineFake extends FakeTracker {
  /** Query strings of every /issues.json request, in order. */
  readonly issueQueries: URLSearchParams[];
  /** Called after each /issues.json answer is computed, before it is sent (n counts from 1 after each call). */
  onIssuesPage(hook: ((n: number) => void) | null): void;
  /** The account loses (or regains) admin rights: /custom_fields.json answers 403 without them. */
  setAdmin(admin: boolean): void;
  /** The workflow refuses moves to this status: PUT answers 204 and keeps the old one, as Redmine does. */
  denyStatus(name: string): void;
  /** Sets a status (closing moves `closed_on`), as a person would. */
  setStatus(key: string, status: string, atMs?: number): void;
  /** Gives these issues one `updated_on` (a bulk edit). */
  setUpdated(keys: string[], atMs: number): void;
  /** Switches the REST API off (Administration → Settings → API): keys are ignored, logins answer 403. */
  setRestApi(enabled: boolean): void;
  /** Adds issues to another project (by identifier); returns their keys. */
  addIssues(project: string, n: number): string[];
  /** Custom field value of an issue as the server holds it. */
  customValue(key: string, fieldId: number): string | string[] | undefined;
  /** Changes a custom field value as a person would (moves `updated_on`). */
  setCustom(key: string, fieldId: number, value: string | string[]): void;
}

class FakeRedmine implements RedmineFake {
  readonly provider = "redmine";
  readonly token = TOKEN;
  url = "";
  readonly issueQueries: URLSearchParams[] = [];
  readonly vocabulary = {
    inProgressStatus: "In Progress",
    doneStatus: "Closed",
    priorities: ["High", "Low", "Urgent"],
    users: ["Ada Lovelace", "Grace Hopper"],
  };
  private readonly server: Server;
  private readonly issues = new Map<number, FakeIssue>();
  private readonly projects: FakeProject[] = [
    { id: 1, name: "Test Project", identifier: "test-project", parentId: null, createdOn: START_MS - 400 * 86_400_000 },
    { id: 2, name: "Test Subproject", identifier: "test-sub", parentId: 1, createdOn: START_MS - 300 * 86_400_000 },
    { id: 3, name: "Other Project", identifier: "other-project", parentId: null, createdOn: START_MS - 200 * 86_400_000 },
  ];
  private readonly rng = new Rng(20261101);
  private readonly faults: FakeFault[] = [];
  private readonly denied = new Set<number>();
  private clock = START_MS;
  private nextId = 1;
  private requests = 0;
  private issuePages = 0;
  private hook: ((n: number) => void) | null = null;
  private admin = true;
  private restApi = true;

  get loginArgs(): string[] {
    return ["--site", this.url, "--project", "test-project"];
  }

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          this.handle(req, res, Buffer.concat(chunks).toString("utf8"));
        } catch (err) {
          send(res, 500, HTML_500, "text/html; charset=utf-8");
          console.error(err);
        }
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  // ---------------------------------------------------------------- the test's hands

  seed(n: number): string[] {
    return this.create(1, n, 3_600_000);
  }

  addIssues(project: string, n: number): string[] {
    const p = this.projects.find((x) => x.identifier === project);
    if (!p) throw new Error(`no project ${project}`);
    return this.create(p.id, n, 60_000);
  }

  /** `n` issues, one per `spacingMs`, all created and updated before the fake clock's start. */
  private create(projectId: number, n: number, spacingMs: number): string[] {
    const keys: string[] = [];
    const r = this.rng;
    const from = START_MS - n * spacingMs;
    const seconds = (ms: number) => r.int(Math.floor(ms / 1000)) * 1000;
    let previous: FakeIssue | null = null;
    for (let i = 0; i < n; i++) {
      const id = this.nextId++;
      const createdOn = from + i * spacingMs + seconds(spacingMs * 0.4);
      const updatedOn = createdOn + seconds(spacingMs * 0.5);
      // Every tenth issue shares its `updated_on` second with the one before (a bulk edit).
      if (previous && i % 10 === 9) {
        previous.updatedOn = updatedOn;
        if (previous.closedOn !== null) previous.closedOn = updatedOn;
      }
      const statusId = 1 + r.weighted([30, 25, 10, 10, 15, 10]);
      const custom = new Map<number, string | string[]>();
      if (r.chance(0.5)) custom.set(1, `CUST-${100 + id}`);
      if (r.chance(0.6)) custom.set(2, r.pick(["1", "2", "3", "5", "8", "2.5"]));
      if (r.chance(0.4)) custom.set(3, PLATFORMS.filter(() => r.chance(0.5)));
      const issue: FakeIssue = {
        id,
        // A few seeded issues live in test-project's subproject (Redmine lists them with the parent).
        projectId: projectId === 1 && i % 9 === 4 ? 2 : projectId,
        trackerId: 1 + (i % 3),
        statusId,
        priorityId: 1 + r.weighted([15, 50, 20, 10, 5]),
        authorId: r.pick([1, 2, 3]),
        assignedToId: r.pick([null, 2, 3, 10, null]),
        fixedVersionId: r.pick([null, 1, 2]),
        parentId: previous && i % 7 === 6 && previous.projectId === projectId ? previous.id : null,
        subject: `${["Fix", "Add", "Improve", "Remove", "Document"][i % 5]} ${["login form", "CSV export", "search index", "mail notifications", "Gantt chart", "REST paging"][r.int(6)]} (${id})`,
        description: r.chance(0.8) ? `Steps to reproduce ${id}:\r\n1. open the page\r\n2. look closely` : null,
        startDate: day(createdOn),
        dueDate: r.chance(0.3) ? day(createdOn + (5 + r.int(60)) * 86_400_000) : null,
        doneRatio: statusId >= 5 ? 100 : r.pick([0, 0, 10, 50, 80]),
        estimatedHours: r.chance(0.4) ? r.pick([1, 2.5, 4, 8]) : null,
        spentHours: 0,
        custom,
        createdOn,
        updatedOn,
        closedOn: STATUSES[statusId - 1]!.is_closed ? updatedOn : null,
      };
      this.issues.set(id, issue);
      keys.push(keyOf(id));
      previous = issue;
    }
    return keys;
  }

  private tick(): number {
    this.clock += 1000;
    return this.clock;
  }

  private issue(key: string): FakeIssue {
    const i = this.issues.get(idOf(key));
    if (!i) throw new Error(`no issue ${key} in the fake`);
    return i;
  }

  editTitle(key: string, title: string, atMs?: number): void {
    const i = this.issue(key);
    i.subject = title;
    i.updatedOn = atMs === undefined ? this.tick() : Math.floor(atMs / 1000) * 1000;
  }

  setStatus(key: string, status: string, atMs?: number): void {
    const i = this.issue(key);
    const s = STATUSES.find((x) => x.name === status);
    if (!s) throw new Error(`no status ${status}`);
    i.updatedOn = atMs === undefined ? this.tick() : Math.floor(atMs / 1000) * 1000;
    if (s.is_closed && !STATUSES[i.statusId - 1]!.is_closed) i.closedOn = i.updatedOn;
    i.statusId = s.id;
  }

  setUpdated(keys: string[], atMs: number): void {
    for (const k of keys) this.issue(k).updatedOn = Math.floor(atMs / 1000) * 1000;
  }

  maxUpdatedMs(): number {
    let max = Number.NEGATIVE_INFINITY;
    for (const i of this.issues.values()) max = Math.max(max, i.updatedOn);
    return max;
  }

  /** Logged time: spent_hours moves, updated_on does not (time entries are not issue edits). */
  touchVolatile(key: string): void {
    this.issue(key).spentHours += 1.5;
  }

  remove(key: string): void {
    this.issues.delete(idOf(key));
  }

  fail(kind: FakeFault, count: number): void {
    for (let n = 0; n < count; n++) this.faults.push(kind);
  }

  requestCount(): number {
    return this.requests;
  }

  view(key: string): FakeIssueView | undefined {
    const i = this.issues.get(idOf(key));
    if (!i) return undefined;
    return {
      title: i.subject,
      description: i.description,
      status: STATUSES[i.statusId - 1]!.name,
      priority: PRIORITIES[i.priorityId - 1]!.name,
      assignee: i.assignedToId === null ? null : (principal(i.assignedToId)?.name ?? null),
      // Redmine has no labels.
      labels: [],
      due_date: i.dueDate,
    };
  }

  customValue(key: string, fieldId: number): string | string[] | undefined {
    return this.issues.get(idOf(key))?.custom.get(fieldId);
  }

  setCustom(key: string, fieldId: number, value: string | string[]): void {
    const i = this.issue(key);
    i.custom.set(fieldId, value);
    i.updatedOn = this.tick();
  }

  onIssuesPage(hook: ((n: number) => void) | null): void {
    this.hook = hook;
    this.issuePages = 0;
  }

  setRestApi(enabled: boolean): void {
    this.restApi = enabled;
  }

  setAdmin(admin: boolean): void {
    this.admin = admin;
  }

  denyStatus(name: string): void {
    const s = STATUSES.find((x) => x.name === name);
    if (s) this.denied.add(s.id);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- HTTP

  private handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    this.requests++;
    const fault = this.faults.shift();
    if (fault === "rate_limit") return send(res, 429, HTML_429, "text/html", { "retry-after": "1" });
    if (fault === "server_error") return send(res, 500, HTML_500, "text/html; charset=utf-8");
    if (fault === "malformed") return send(res, 200, '{"issues":[{"id":1,"project":{"id":1,"name":"Test Pro', JSON_TYPE);

    const url = new URL(req.url ?? "/", "http://localhost");
    const key = req.headers["x-redmine-api-key"] ?? url.searchParams.get("key");
    // Anything else is the anonymous user (so is every key while the REST API is off).
    const user = key === TOKEN && this.restApi ? principal(1)! : null;
    const unauthorized = (r: ServerResponse) => (this.restApi ? deny(r) : empty(r, 403));
    const route = `${req.method} ${url.pathname}`;
    const issueMatch = /^\/issues\/(\d+)\.json$/.exec(url.pathname);
    const membersMatch = /^\/projects\/([^/]+)\/memberships\.json$/.exec(url.pathname);

    if (route === "GET /users/current.json") {
      if (!user) return unauthorized(res);
      return json(res, 200, {
        user: {
          id: user.id, login: user.login, admin: this.admin, firstname: user.firstname, lastname: user.lastname, mail: user.mail,
          created_on: time(START_MS - 500 * 86_400_000), updated_on: time(START_MS - 400 * 86_400_000), last_login_on: null,
          passwd_changed_on: null, twofa_scheme: null, api_key: TOKEN, status: 1,
        },
      });
    }
    if (route === "GET /issues.json") return this.listIssues(res, url.searchParams);
    if (issueMatch) {
      const issue = this.issues.get(Number(issueMatch[1]));
      if (req.method === "GET") {
        if (!issue) return empty(res, 404);
        const out = this.render(issue);
        if ((url.searchParams.get("include") ?? "").split(",").includes("allowed_statuses")) {
          out.allowed_statuses = STATUSES.filter((s) => s.id === issue.statusId || !this.denied.has(s.id));
        }
        return json(res, 200, { issue: out });
      }
      if (req.method === "PUT" || req.method === "DELETE") {
        if (!user) return unauthorized(res);
        if (!issue) return empty(res, 404);
        if (req.method === "DELETE") {
          this.issues.delete(issue.id);
          return empty(res, 204, false);
        }
        return this.update(res, issue, body);
      }
    }
    if (route === "GET /projects.json") {
      const { offset, limit } = paging(url.searchParams);
      const list = this.projects.map((p) => ({
        id: p.id, name: p.name, identifier: p.identifier, description: null,
        ...(p.parentId !== null ? { parent: { id: p.parentId, name: this.projects.find((x) => x.id === p.parentId)!.name } } : {}),
        status: 1, is_public: true, inherit_members: false, created_on: time(p.createdOn), updated_on: time(p.createdOn),
      }));
      return json(res, 200, { projects: list.slice(offset, offset + limit), total_count: list.length, offset, limit });
    }
    if (req.method === "GET" && membersMatch) {
      const p = this.project(decodeURIComponent(membersMatch[1]!));
      if (!p) return empty(res, 404);
      const { offset, limit } = paging(url.searchParams);
      const list = (p.id === 1 ? MEMBERS : []).map((m) => {
        const who = principal(m.principal)!;
        return { id: m.id, project: { id: p.id, name: p.name }, [who.kind]: { id: who.id, name: who.name }, roles: m.roles };
      });
      return json(res, 200, { memberships: list.slice(offset, offset + limit), total_count: list.length, offset, limit });
    }
    if (route === "GET /issue_statuses.json") return json(res, 200, { issue_statuses: STATUSES });
    if (route === "GET /enumerations/issue_priorities.json") return json(res, 200, { issue_priorities: PRIORITIES });
    if (route === "GET /trackers.json") return json(res, 200, { trackers: TRACKERS });
    if (route === "GET /custom_fields.json") {
      if (!user) return unauthorized(res);
      if (!this.admin) return empty(res, 403);
      return json(res, 200, { custom_fields: CUSTOM_FIELDS });
    }
    if (route === "GET /users.json") {
      if (!user) return unauthorized(res);
      if (!this.admin) return empty(res, 403);
      const q = (url.searchParams.get("name") ?? "").toLowerCase();
      const users = PRINCIPALS.filter((p) => p.kind === "user" && [p.login, p.firstname, p.lastname, p.mail].some((v) => v?.toLowerCase().includes(q)));
      return json(res, 200, {
        users: users.map((u) => ({ id: u.id, login: u.login, admin: u.admin === true, firstname: u.firstname, lastname: u.lastname, mail: u.mail })),
        total_count: users.length, offset: 0, limit: 25,
      });
    }
    return empty(res, 404);
  }

  private project(idOrIdentifier: string): FakeProject | undefined {
    return this.projects.find((p) => p.identifier === idOrIdentifier || String(p.id) === idOrIdentifier);
  }

  private descendants(id: number): number[] {
    const out = [id];
    for (let i = 0; i < out.length; i++) for (const p of this.projects) if (p.parentId === out[i]) out.push(p.id);
    return out;
  }

  private listIssues(res: ServerResponse, params: URLSearchParams): void {
    this.issueQueries.push(new URLSearchParams(params));
    let scope: number[] | null = null;
    const projectParam = params.get("project_id");
    if (projectParam) {
      // IssuesController#find_optional_project: one project, by identifier or id; 404 otherwise.
      const p = this.project(projectParam);
      if (!p) return empty(res, 404);
      scope = this.descendants(p.id);
    }
    const filters: Filter[] = [];
    if (params.has("f[]") || params.has("fields[]")) {
      for (const field of [...params.getAll("f[]"), ...params.getAll("fields[]")]) {
        if (!field) continue;
        filters.push({ field, op: params.get(`op[${field}]`) ?? "=", values: params.getAll(`v[${field}][]`) });
      }
    } else {
      // The default query lists open issues only.
      filters.push(shortFilter("status_id", params.get("status_id") ?? "o", STATUS_OPERATORS));
      for (const field of ["updated_on", "created_on"]) {
        const v = params.get(field);
        if (v !== null) filters.push(shortFilter(field, v, DATE_OPERATORS));
      }
    }
    const tests: ((i: FakeIssue) => boolean)[] = [];
    if (scope) tests.push((i) => scope!.includes(i.projectId));
    const errors: string[] = [];
    for (const f of filters) {
      if (f.field === "status_id") {
        const closed = (i: FakeIssue) => STATUSES[i.statusId - 1]!.is_closed;
        if (f.op === "o") tests.push((i) => !closed(i));
        else if (f.op === "c") tests.push(closed);
        else if (f.op === "=") tests.push((i) => f.values.includes(String(i.statusId)));
        else if (f.op === "!") tests.push((i) => !f.values.includes(String(i.statusId)));
      } else if (f.field === "project_id" && f.op === "=") {
        tests.push((i) => f.values.includes(String(i.projectId)));
      } else if (f.field === "updated_on" || f.field === "created_on") {
        const at = (i: FakeIssue) => (f.field === "updated_on" ? i.updatedOn : i.createdOn);
        const label = f.field === "updated_on" ? "Updated" : "Created";
        if (f.op === "*" || f.op === "!*") continue;
        const [a, b] = [parseDateValue(f.values[0]), parseDateValue(f.values[1])];
        if (a === null || (f.op === "><" && b === null)) {
          errors.push(`${label} is invalid`);
          continue;
        }
        // Query#date_clause: `> from - 1 s` (at second precision: >= from); `<=` to the day's end for dates.
        if (f.op === ">=") tests.push((i) => at(i) >= a);
        else if (f.op === "<=") tests.push((i) => at(i) <= a + (/T/.test(f.values[0]!) ? 0 : 86_399_000));
        else if (f.op === "><") tests.push((i) => at(i) >= a && at(i) <= b! + (/T/.test(f.values[1]!) ? 0 : 86_399_000));
        else if (f.op === "=") tests.push((i) => day(at(i)) === day(a));
      }
    }
    if (errors.length) return json(res, 422, { errors });

    const list = [...this.issues.values()].filter((i) => tests.every((t) => t(i)));
    list.sort(comparator(params.get("sort")));
    const { offset, limit } = paging(params);
    const body = { issues: list.slice(offset, offset + limit).map((i) => this.render(i)), total_count: list.length, offset, limit };
    const text = rubyJson(body);
    this.issuePages++;
    this.hook?.(this.issuePages);
    send(res, 200, text, JSON_TYPE);
  }

  /** issues/index.api.rsb and show.api.rsb, member for member (absent = nil on the server). */
  private render(i: FakeIssue): Record<string, unknown> {
    const project = this.projects.find((p) => p.id === i.projectId)!;
    const status = STATUSES[i.statusId - 1]!;
    const assignee = i.assignedToId === null ? null : principal(i.assignedToId);
    const version = VERSIONS.find((v) => v.id === i.fixedVersionId);
    const out: Record<string, unknown> = {
      id: i.id,
      project: { id: project.id, name: project.name },
      tracker: { id: i.trackerId, name: TRACKERS[i.trackerId - 1]!.name },
      status: { id: status.id, name: status.name, is_closed: status.is_closed },
      priority: { id: i.priorityId, name: PRIORITIES[i.priorityId - 1]!.name },
      author: { id: i.authorId, name: principal(i.authorId)!.name },
    };
    if (assignee) out.assigned_to = { id: assignee.id, name: assignee.name };
    if (version) out.fixed_version = { id: version.id, name: version.name };
    if (i.parentId !== null && this.issues.has(i.parentId)) out.parent = { id: i.parentId };
    Object.assign(out, {
      subject: i.subject,
      description: i.description,
      start_date: i.startDate,
      due_date: i.dueDate,
      done_ratio: i.doneRatio,
      is_private: false,
      estimated_hours: float(i.estimatedHours),
      total_estimated_hours: float(i.estimatedHours),
      spent_hours: float(i.spentHours),
      total_spent_hours: float(i.spentHours),
      custom_fields: ISSUE_CUSTOM_FIELDS.map((f) => {
        const v = i.custom.get(f.id);
        return f.multiple ? { id: f.id, name: f.name, multiple: true, value: Array.isArray(v) ? v : [] } : { id: f.id, name: f.name, value: v ?? null };
      }),
      created_on: time(i.createdOn),
      updated_on: time(i.updatedOn),
      closed_on: i.closedOn === null ? null : time(i.closedOn),
    });
    return out;
  }

  /** PUT /issues/<id>.json: validate everything, apply all or nothing (Issue#save). */
  private update(res: ServerResponse, issue: FakeIssue, text: string): void {
    let attrs: Record<string, unknown>;
    try {
      attrs = ((JSON.parse(text || "{}") as { issue?: Record<string, unknown> }).issue ?? {}) as Record<string, unknown>;
    } catch {
      return empty(res, 400);
    }
    const next: FakeIssue = { ...issue, custom: new Map(issue.custom) };
    const errors: string[] = [];
    const has = (k: string) => Object.prototype.hasOwnProperty.call(attrs, k);
    if (has("subject")) {
      const s = attrs.subject === null || attrs.subject === undefined ? "" : String(attrs.subject);
      if (s.trim() === "") errors.push("Subject cannot be blank");
      else next.subject = s;
    }
    if (has("description")) {
      // Issue#description= stores every line break as CRLF.
      next.description = typeof attrs.description === "string" ? attrs.description.replace(/\r\n|\r|\n/g, "\r\n") : null;
    }
    if (has("status_id")) {
      // An unknown id or a transition the workflow forbids is dropped without an error.
      const s = STATUSES.find((x) => String(x.id) === String(attrs.status_id));
      if (s && !this.denied.has(s.id)) next.statusId = s.id;
    }
    if (has("priority_id")) {
      const p = PRIORITIES.find((x) => String(x.id) === String(attrs.priority_id));
      if (!p) errors.push("Priority cannot be blank");
      else next.priorityId = p.id;
    }
    if (has("assigned_to_id") && attrs.assigned_to_id !== null) {
      const v = String(attrs.assigned_to_id);
      if (v === "") next.assignedToId = null;
      else {
        // Issue#assignable_users: members of the project, the author, the current assignee.
        const assignable = new Set([...(issue.projectId === 1 ? MEMBERS.map((m) => m.principal) : []), issue.authorId, ...(issue.assignedToId ? [issue.assignedToId] : [])]);
        if (!assignable.has(Number(v))) errors.push("Assignee is invalid");
        else next.assignedToId = Number(v);
      }
    }
    if (has("due_date")) {
      const v = attrs.due_date;
      if (v === null || v === "") next.dueDate = null;
      else if (typeof v !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`)) || day(Date.parse(`${v}T00:00:00Z`)) !== v) {
        errors.push("Due date is not a valid date");
      } else if (next.startDate && v < next.startDate) errors.push("Due date must be greater than start date");
      else next.dueDate = v;
    }
    if (Array.isArray(attrs.custom_fields)) {
      for (const cf of attrs.custom_fields as { id?: unknown; value?: unknown }[]) {
        const def = ISSUE_CUSTOM_FIELDS.find((f) => f.id === Number(cf?.id));
        if (!def) continue;
        const value = Array.isArray(cf.value) ? cf.value.map(String) : cf.value === null || cf.value === undefined ? "" : String(cf.value);
        if (def.field_format === "float" && typeof value === "string" && value !== "" && !/^[+-]?\d+(\.\d*)?$/.test(value)) errors.push(`${def.name} is invalid`);
        else if (value === "" || (Array.isArray(value) && value.length === 0)) next.custom.delete(def.id);
        else next.custom.set(def.id, value);
      }
    }
    if (errors.length) return json(res, 422, { errors });
    const changed = JSON.stringify(this.render(next)) !== JSON.stringify(this.render(issue));
    if (changed) {
      next.updatedOn = this.tick();
      if (STATUSES[next.statusId - 1]!.is_closed && !STATUSES[issue.statusId - 1]!.is_closed) next.closedOn = next.updatedOn;
      this.issues.set(issue.id, next);
    }
    empty(res, 204, false);
  }
}

function principal(id: number): Principal | undefined {
  return PRINCIPALS.find((p) => p.id === id);
}

/** ApplicationController#api_offset_and_limit. */
function paging(params: URLSearchParams): { offset: number; limit: number } {
  const offset = Math.max(0, Number.parseInt(params.get("offset") ?? "0", 10) || 0);
  const asked = Number.parseInt(params.get("limit") ?? "", 10) || 0;
  return { offset, limit: asked < 1 ? 25 : Math.min(asked, MAX_LIMIT) };
}

/** `sort=updated_on,id:desc`…; Redmine appends `id DESC` unless the criteria name id. Default: id DESC. */
function comparator(sort: string | null): (a: FakeIssue, b: FakeIssue) => number {
  const columns: Record<string, (i: FakeIssue) => number> = { id: (i) => i.id, updated_on: (i) => i.updatedOn, created_on: (i) => i.createdOn };
  const criteria = (sort ?? "id:desc")
    .split(",")
    .map((c) => c.trim().split(":"))
    .filter(([name]) => name !== undefined && name in columns)
    .map(([name, dir]) => ({ get: columns[name!]!, sign: dir === "desc" ? -1 : 1, id: name === "id" }));
  if (!criteria.some((c) => c.id)) criteria.push({ get: columns.id!, sign: -1, id: true });
  return (a, b) => {
    for (const c of criteria) {
      const d = c.get(a) - c.get(b);
      if (d !== 0) return d * c.sign;
    }
    return 0;
  };
}

const JSON_TYPE = "application/json; charset=utf-8";
const RAILS_HEADERS = { "x-content-type-options": "nosniff", "x-frame-options": "SAMEORIGIN", "cache-control": "max-age=0, private, must-revalidate" };

function send(res: ServerResponse, status: number, body: string, type: string | null, headers: Record<string, string> = {}): void {
  const length = status === 204 ? {} : { "content-length": String(Buffer.byteLength(body)) };
  res.writeHead(status, { ...RAILS_HEADERS, ...(type ? { "content-type": type } : {}), ...length, ...headers });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, rubyJson(value), JSON_TYPE);
}

/** Redmine's `head :not_found` etc.: no body (204 without a content type). */
function empty(res: ServerResponse, status: number, typed = true): void {
  send(res, status, "", typed ? "application/json" : null);
}

/** ApplicationController#require_login for API requests. */
function deny(res: ServerResponse): void {
  send(res, 401, "", "application/json", { "www-authenticate": 'Basic realm="Redmine API"' });
}

export async function startRedmineFake(): Promise<RedmineFake> {
  const fake = new FakeRedmine();
  await fake.listen();
  return fake;
}

export const startFake: StartFake = startRedmineFake;
