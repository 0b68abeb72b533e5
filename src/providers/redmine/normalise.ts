// Redmine issue JSON → the unified issue (SPEC §8, §10).
//
// Keys: Redmine issue ids are unique per instance and people write them "#123", so the key is
// `#<id>` (unique per connection, stable when an issue moves between projects) and id is the
// bare number.

import { RemoteError, UsageError } from "../../errors.js";
import { isoOrNull, parseRemoteTime } from "../../core/time.js";
import type { NormalisedIssue, PulledRecord, StatusCategory } from "../provider.js";
import type { RedmineCustomValue, RedmineIssue, RedmineProject } from "./client.js";
import { isStoryPointsName } from "./fields.js";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

export const issueKey = (id: number | string): string => `#${id}`;

/** `#12` (as pmsync stores it) or `12` → 12. */
export function issueIdOf(key: string): number {
  const m = /^#?(\d+)$/.exec(key.trim());
  if (!m) throw new UsageError(`"${key}" is not a Redmine issue key`, { hint: "Redmine keys look like #123" });
  return Number(m[1]);
}

/**
 * Project ids → identifiers. The issue payload names its project by id and display name only;
 * pmsync shows the identifier (what `--project` takes), from `/projects.json`.
 */
export class ProjectDirectory {
  private readonly byId = new Map<number, RedmineProject>();
  private readonly byIdentifier = new Map<string, RedmineProject>();

  constructor(projects: RedmineProject[]) {
    for (const p of projects) {
      this.byId.set(p.id, p);
      this.byIdentifier.set(p.identifier, p);
    }
  }

  identifierOf(id: number): string | null {
    return this.byId.get(id)?.identifier ?? null;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  find(identifier: string): RedmineProject | undefined {
    return this.byIdentifier.get(identifier);
  }

  /** The project and all its visible descendants (parent links from /projects.json). */
  withDescendants(id: number): number[] {
    const out = [id];
    for (let i = 0; i < out.length; i++) {
      for (const p of this.byId.values()) if (p.parent?.id === out[i] && !out.includes(p.id)) out.push(p.id);
    }
    return out;
  }
}

// Closed statuses whose name says the work was dropped rather than done. Redmine has no
// resolution field, so the name is all there is ("Rejected" in the default set).
const CANCELLED = /reject|cancel|won'?t|invalid|duplicate|declin/i;
// Open statuses where work has not started ("New" in the default set).
const NOT_STARTED = /^(new|open|to ?do|backlog|triage|unconfirmed|untriaged)$/i;

/**
 * Redmine knows only open/closed (`is_closed`). Closed: cancelled when the name says so, else
 * done. Open: todo for not-started names, else in_progress ("Resolved" and "Feedback" are open
 * statuses in Redmine's default set, so they count as in progress).
 */
export function statusCategory(name: string | null, isClosed: boolean | null): StatusCategory | null {
  if (name === null || isClosed === null) return null;
  if (isClosed) return CANCELLED.test(name) ? "cancelled" : "done";
  return NOT_STARTED.test(name.trim()) ? "todo" : "in_progress";
}

/** Redmine keeps custom values as text: "3", "2.5", "" (unset). */
function storyPoints(values: RedmineCustomValue[] | undefined): number | null {
  for (const cv of values ?? []) {
    if (!isStoryPointsName(cv.name) || typeof cv.value !== "string") continue;
    const t = cv.value.trim();
    if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  }
  return null;
}

export interface NormaliseContext {
  site: string;
  projects: ProjectDirectory;
  /** For servers older than 5.0, whose issue payloads lack `status.is_closed`. */
  closedStatuses: ReadonlyMap<number, boolean> | null;
}

export function normaliseIssue(raw: unknown, ctx: NormaliseContext): PulledRecord {
  const issue = obj(raw) as (RedmineIssue & Obj) | null;
  if (!issue || typeof issue.id !== "number") throw new RemoteError("an issue in Redmine's answer has no numeric id; the page was not written");
  const updatedMs = parseRemoteTime(issue.updated_on);
  if (updatedMs === null) {
    throw new RemoteError(`issue #${issue.id} has no valid "updated_on" time (${JSON.stringify(issue.updated_on)}); the page was not written`);
  }
  const project = obj(issue.project);
  const projectId = typeof project?.id === "number" ? project.id : null;
  const identifier = projectId === null ? null : ctx.projects.identifierOf(projectId);
  const status = obj(issue.status);
  const statusName = str(status?.name);
  const isClosed =
    typeof status?.is_closed === "boolean" ? status.is_closed : typeof status?.id === "number" ? (ctx.closedStatuses?.get(status.id) ?? null) : null;
  const parent = obj(issue.parent);
  const normalised: NormalisedIssue = {
    id: String(issue.id),
    key: issueKey(issue.id),
    url: `${ctx.site.replace(/\/+$/, "")}/issues/${issue.id}`,
    project: identifier,
    type: str(obj(issue.tracker)?.name),
    title: str(issue.subject),
    // Redmine stores line breaks as CRLF; the unified text uses LF (the raw payload keeps CRLF).
    description: str(issue.description)?.replace(/\r\n?/g, "\n") ?? null,
    status: statusName,
    status_category: statusCategory(statusName, isClosed),
    priority: str(obj(issue.priority)?.name),
    assignee: str(obj(issue.assigned_to)?.name),
    reporter: str(obj(issue.author)?.name),
    // Redmine issues have no labels (categories and custom fields are not labels): always empty.
    labels: [],
    parent: typeof parent?.id === "number" ? issueKey(parent.id) : null,
    // The target version is what Redmine teams plan iterations with.
    sprint: str(obj(issue.fixed_version)?.name),
    story_points: storyPoints(Array.isArray(issue.custom_fields) ? issue.custom_fields : undefined),
    due_date: str(issue.due_date),
    created_at: isoOrNull(issue.created_on),
    updated_at: new Date(updatedMs).toISOString(),
    // `closed_on` survives a reopen (Redmine keeps the last closing time): only a closed issue is resolved.
    resolved_at: isClosed ? isoOrNull(issue.closed_on) : null,
  };
  const record: PulledRecord = { issue: normalised, updatedMs, raw };
  if (identifier !== null) record.projectInfo = { key: identifier, id: String(projectId), name: str(project?.name) };
  return record;
}

/** Top-level members the unified columns already show; the change log lists the others. */
export const COVERED_MEMBERS: ReadonlySet<string> = new Set([
  "id", "project", "tracker", "subject", "description", "status", "priority", "assigned_to", "author", "parent",
  "fixed_version", "due_date", "created_on", "updated_on", "closed_on", "custom_fields",
]);
