// The Redmine provider: `/issues.json?status_id=*&sort=updated_on` (closed issues too: Redmine
// lists open ones unless told otherwise), incremental by `updated_on>=` (PROVIDERS.md §10, §12.10),
// writes by `PUT /issues/<id>.json` (writes.ts).
//
// Paging: Redmine pages by offset only, and offsets are unstable while people work: an issue
// updated during the pull jumps to the end of an `updated_on`-ascending list, every later issue
// moves up one place, and plain `offset += 100` skips one. So pages are keyed by value instead:
// after each page the next request asks for `updated_on >= <last updated_on seen>` from offset 0,
// skipping issues already yielded with that same `updated_on`. An issue edited mid-pull is then
// simply met again further on (with its new content, which is yielded: nothing is lost and no
// version is written twice). Only inside a group of issues sharing one `updated_on` second that
// spans pages does an offset remain, re-reading OVERLAP issues to absorb a few shifts.
//
// Cursor (SPEC §5.1): pages come in ascending `updated_on` order, so the engine's cursor (largest
// `updated_on` committed) never passes an issue that was not yet written. Scoped projects are
// fetched in ONE list, never one pass per project, so the cursor cannot run ahead of a project not
// yet pulled. One project: `project_id=<identifier>` (Redmine adds its subprojects when the server's
// "display subprojects issues" setting is on, the default). Several: the long filter form with the
// projects' ids and their descendants' (the same default, computed from /projects.json).

import { canonicalJson } from "../../core/hash.js";
import { RemoteError } from "../../errors.js";
import type { FieldChange, FieldDef, FieldWrite, Identity, Page, Provider, ProviderContext, ProviderModule, PulledRecord, PullRequest } from "../provider.js";
import { normaliseRedmineProject, redmineApiBaseUrl, redmineAuthHeaders } from "./auth.js";
import { PAGE_SIZE, RedmineClient, type IssueFilter, type RedmineCustomValue, type RedmineIssue, type RedmineIssuesPage } from "./client.js";
import { customFieldDef, customFieldId, isStoryPointsName, seenCustomFields, STANDARD_FIELDS } from "./fields.js";
import { COVERED_MEMBERS, normaliseIssue, ProjectDirectory, type NormaliseContext } from "./normalise.js";
import { REDMINE_EDITABLE, RedmineWrites } from "./writes.js";

/** Issues re-read at the start of the next page inside one `updated_on` second. */
const OVERLAP = 5;

/** Redmine's timestamp filter: ISO 8601 UTC, whole seconds (rounded down: the window only grows). */
export function redmineTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const jsonText = (v: unknown): string | null => (v === undefined || v === null ? null : canonicalJson(v));

class RedmineProvider implements Provider {
  readonly name = "redmine";
  // The list payload has no view times or counters; these three change without `updated_on`
  // moving: logged time lives in time entries (spent_hours, total_spent_hours), and a parent's
  // total estimate follows its children's. Left out of the hash and of the stored payload.
  readonly volatilePaths = ["spent_hours", "total_spent_hours", "total_estimated_hours"];
  // Redmine's JSON carries no links or avatars.
  readonly ignoredKeys: ReadonlySet<string> = new Set();
  readonly editableFields = REDMINE_EDITABLE;
  private readonly client: RedmineClient;
  private readonly writes: RedmineWrites;
  private directory: Promise<ProjectDirectory> | undefined;
  /** Project ids /projects.json did not know after a reload: not reloaded for again. */
  private readonly unknownProjects = new Set<number>();
  private closedStatuses: Promise<Map<number, boolean>> | undefined;

  constructor(private readonly ctx: ProviderContext) {
    this.client = new RedmineClient(ctx.http);
    this.writes = new RedmineWrites(this.client, (issues) => this.contextFor(issues));
  }

  async verify(): Promise<Identity> {
    // Not /issues.json: Redmine answers a wrong key there as an anonymous user (200).
    const { user, serverTimeMs } = await this.client.currentUser().catch((err: unknown) => {
      // With the REST API switched off Redmine ignores every key and answers 403 here.
      if (err instanceof RemoteError && err.status === 403) {
        throw new RemoteError(`${err.message}: is Redmine's REST API enabled?`, {
          status: 403,
          hint: "an administrator enables it in Administration → Settings → API → Enable REST web service",
        });
      }
      throw err;
    });
    if (!user || typeof user.id !== "number") throw new RemoteError("/users/current.json did not return a user");
    const displayName = `${user.firstname ?? ""} ${user.lastname ?? ""}`.trim() || user.login;
    return { accountId: String(user.id), displayName, email: user.mail ?? null, timeZone: null, serverTimeMs };
  }

  async fieldCatalog(): Promise<FieldDef[]> {
    // The status and priority names the instance has, so `edit`/`import` can check values offline
    // (the cache alone only knows the ones some issue is in right now).
    const statuses = await this.client.statuses();
    const priorities = await this.client.priorities();
    const allowed: Record<string, string[]> = { status: statuses.map((s) => s.name), priority: priorities.map((p) => p.name) };
    const standard = STANDARD_FIELDS.map((f) =>
      allowed[f.id] ? { ...f, schema: { ...(f.schema as object), unified: f.id, allowedValues: allowed[f.id] } } : f,
    );
    const custom = await this.client.customFields();
    if (custom) return [...standard, ...custom.filter((cf) => (cf.customized_type ?? "issue") === "issue").map(customFieldDef)];
    // Not an admin: the custom fields the most recently updated issues carry.
    const projects = this.ctx.config.projects;
    const sample = await this.client.issues(projects.length === 1 ? { project: projects[0]! } : {}, "updated_on:desc", 0);
    return [...standard, ...seenCustomFields(sample?.issues ?? [])];
  }

  async *pull(req: PullRequest): AsyncIterable<Page> {
    // Fresh for every pull: projects are created and renamed.
    const directory = new ProjectDirectory(await this.client.projects());
    this.directory = Promise.resolve(directory);
    const filter = this.scope(req.projects, directory);
    let key = req.mode === "incremental" && req.sinceMs !== null ? Math.floor(req.sinceMs / 1000) * 1000 : null;
    let offset = 0;
    /** id → `updated_on` of every issue yielded in this pull. */
    const yielded = new Map<number, string>();
    const fetchPage = (k: number | null, o: number) => {
      const p = this.client.issues(k === null ? filter : { ...filter, updatedSince: redmineTime(k) }, "updated_on", o);
      p.catch(() => undefined); // awaited below; this only stops an unhandled-rejection warning
      return p;
    };
    let pending: Promise<RedmineIssuesPage | null> = fetchPage(key, offset);
    for (;;) {
      const page = await pending;
      if (!page) {
        throw new RemoteError(`Redmine has no project "${filter.project}" (or this account cannot see it)`, {
          hint: "check the identifier in the project's URL; `pmsync login redmine --project …` changes the scope",
        });
      }
      const issues = page.issues;
      // Not yet yielded in this version (one without `updated_on` goes on, for normalise to reject).
      const fresh = issues.filter((i) => typeof i?.updated_on !== "string" || yielded.get(i.id) !== i.updated_on);

      // Where the next page starts, decided before this one is written.
      const limit = typeof page.limit === "number" && page.limit > 0 ? page.limit : PAGE_SIZE;
      // total_count may end the pull early; a short or empty page ends it whatever total_count says.
      let more = issues.length >= limit && !(typeof page.total_count === "number" && offset + issues.length >= page.total_count);
      if (more) {
        const next = nextPosition(issues, key, offset, limit, fresh.length > 0);
        if (next === null) more = false;
        else {
          ({ key, offset } = next);
          pending = fetchPage(key, offset);
        }
      }
      if (fresh.length > 0) {
        const context = await this.contextFor(fresh);
        const records = fresh.map((raw) => normaliseIssue(raw, context));
        for (const i of fresh) yielded.set(i.id, i.updated_on!);
        yield { records };
      }
      if (!more) return;
    }
  }

  readonly fetchIssue = (key: string): Promise<PulledRecord | null> => this.writes.fetchIssue(key);
  readonly writeIssue = (current: PulledRecord, writes: FieldWrite[]): Promise<void> => this.writes.writeIssue(current, writes);

  /** Changes in members the unified columns do not show; custom fields one by one as `custom_fields.<id>`. */
  rawChanges(oldRaw: unknown, newRaw: unknown): FieldChange[] {
    const a = obj(oldRaw);
    const b = obj(newRaw);
    const out: FieldChange[] = [];
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (COVERED_MEMBERS.has(k)) continue;
      const oldText = jsonText(a[k]);
      const newText = jsonText(b[k]);
      if (oldText !== newText) out.push({ field: k, old: oldText, new: newText });
    }
    const byId = (raw: Obj) => {
      const m = new Map<number, RedmineCustomValue>();
      if (Array.isArray(raw.custom_fields)) for (const cv of raw.custom_fields as RedmineCustomValue[]) if (typeof cv?.id === "number") m.set(cv.id, cv);
      return m;
    };
    const ca = byId(a);
    const cb = byId(b);
    for (const id of [...new Set([...ca.keys(), ...cb.keys()])].sort((x, y) => x - y)) {
      const before = ca.get(id);
      const after = cb.get(id);
      // The story points column shows that one.
      if (isStoryPointsName(after?.name ?? before?.name)) continue;
      const oldText = jsonText(before?.value);
      const newText = jsonText(after?.value);
      if (oldText !== newText) out.push({ field: customFieldId(id), old: oldText, new: newText });
    }
    return out;
  }

  private scope(projects: string[], directory: ProjectDirectory): IssueFilter {
    if (projects.length === 0) return {};
    if (projects.length === 1) return { project: projects[0]! };
    const ids = new Set<number>();
    const missing: string[] = [];
    for (const identifier of projects) {
      const p = directory.find(identifier);
      if (!p) missing.push(identifier);
      else for (const id of directory.withDescendants(p.id)) ids.add(id);
    }
    if (missing.length) {
      throw new RemoteError(`Redmine has no project ${missing.map((m) => `"${m}"`).join(", ")} (or this account cannot see it)`, {
        hint: "check the identifiers in the projects' URLs; `pmsync login redmine --project …` changes the scope",
      });
    }
    return { projectIds: [...ids].sort((x, y) => x - y) };
  }

  /**
   * What normalising these issues needs: project identifiers (reloaded once when an issue names a
   * project created since, so its `project` column is not left empty) and, for servers older than
   * 5.0 whose issue payloads lack `status.is_closed`, the statuses.
   */
  private async contextFor(issues: RedmineIssue[]): Promise<NormaliseContext> {
    let directory = await (this.directory ??= this.client.projects().then((p) => new ProjectDirectory(p)));
    const unknown = issues.map((i) => i.project?.id).filter((id): id is number => typeof id === "number" && !directory.has(id) && !this.unknownProjects.has(id));
    if (unknown.length) {
      const reloaded = this.client.projects().then((p) => new ProjectDirectory(p));
      this.directory = reloaded;
      directory = await reloaded;
      for (const id of unknown) if (!directory.has(id)) this.unknownProjects.add(id);
    }
    let closedStatuses: Map<number, boolean> | null = null;
    if (issues.some((i) => i.status && typeof i.status.is_closed !== "boolean")) {
      closedStatuses = await (this.closedStatuses ??= this.client.statuses().then((all) => new Map(all.map((s) => [s.id, s.is_closed === true]))));
    }
    return { site: this.ctx.config.site, projects: directory, closedStatuses };
  }
}

/**
 * The next page's position. The key moves to the page's last `updated_on`; the issues of that
 * second already read come first in the next answer, so the offset skips them (less OVERLAP for
 * safety; re-read ones are filtered by id). A page entirely inside one second keeps the key and
 * moves the offset. Null when no progress is possible (nothing to re-ask).
 */
export function nextPosition(
  issues: RedmineIssue[],
  key: number | null,
  offset: number,
  limit: number,
  anyFresh: boolean,
): { key: number; offset: number } | null {
  const last = issues[issues.length - 1];
  const lastMs = last?.updated_on ? Date.parse(last.updated_on) : Number.NaN;
  if (Number.isNaN(lastMs)) return null;
  const overlap = Math.min(OVERLAP, Math.floor(limit / 2));
  if (key === null || lastMs > key) {
    const sameSecond = issues.filter((i) => i.updated_on && Date.parse(i.updated_on) === lastMs).length;
    return { key: lastMs, offset: Math.max(0, sameSecond - overlap) };
  }
  // Still inside the key's second (or, on servers that compare with sub-second values, just
  // before it): advance by offset; when nothing new came back, without overlap, so it terminates.
  return { key, offset: anyFresh ? offset + issues.length - overlap : offset + issues.length };
}

export const redmine: ProviderModule = {
  editableFields: REDMINE_EDITABLE,
  create: (ctx) => new RedmineProvider(ctx),
  login: {
    tokenLabel: "Redmine API key (My account → API access key → Show; the administrator must enable the REST API)",
    revokeHint: {
      token: "Redmine keeps one API key per account: reset it under My account → API access key → Reset if you want this one dead.",
    },
    needsEmail: false,
    projectNoun: "project identifier",
    normaliseProject: normaliseRedmineProject,
  },
  apiBaseUrl: redmineApiBaseUrl,
  authHeaders: redmineAuthHeaders,
};
