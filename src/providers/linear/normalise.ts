// Linear issue JSON → the unified issue (SPEC §8, §10).

import { RemoteError } from "../../errors.js";
import { isoOrNull, parseRemoteTime } from "../../core/time.js";
import type { NormalisedIssue, PulledRecord, StatusCategory } from "../provider.js";
import type { LinearIssue } from "./client.js";

/** Linear's priority numbers; 0 is "No priority", shown as no value. */
export const PRIORITY_NAMES: Readonly<Record<number, string>> = { 1: "Urgent", 2: "High", 3: "Medium", 4: "Low" };

/** Every workflow state has one of these types; the type, not the team's name for it, decides. */
const CATEGORY_BY_STATE_TYPE: Readonly<Record<string, StatusCategory>> = {
  triage: "todo",
  backlog: "todo",
  unstarted: "todo",
  started: "in_progress",
  completed: "done",
  canceled: "cancelled",
  duplicate: "cancelled",
};

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function statusCategory(stateType: unknown): StatusCategory | null {
  return typeof stateType === "string" ? (CATEGORY_BY_STATE_TYPE[stateType] ?? null) : null;
}

export function priorityName(priority: unknown): string | null {
  return typeof priority === "number" ? (PRIORITY_NAMES[priority] ?? null) : null;
}

/**
 * Trashed (deleted, restorable for 30 days) and archived issues are gone from Linear's lists and
 * board: pmsync does not keep them live. A full pull leaves them out, so the engine marks a cached
 * one deleted (and keeps it).
 */
export function isGone(raw: unknown): boolean {
  const issue = obj(raw);
  return issue?.trashed === true || (issue?.archivedAt !== null && issue?.archivedAt !== undefined);
}

/** The sprint column: a cycle's name, or `Cycle N` for the (usual) unnamed cycle. */
function cycleName(cycle: Obj | null): string | null {
  if (!cycle) return null;
  const name = str(cycle.name);
  if (name) return name;
  const n = num(cycle.number);
  return n === null ? null : `Cycle ${n}`;
}

export function normaliseIssue(raw: unknown): PulledRecord {
  const issue = obj(raw) as (LinearIssue & Obj) | null;
  if (!issue || typeof issue.id !== "string" || typeof issue.identifier !== "string") {
    throw new RemoteError("an issue in Linear's answer has no id or identifier; the page was not written");
  }
  const updatedMs = parseRemoteTime(issue.updatedAt);
  if (updatedMs === null) {
    throw new RemoteError(`issue ${issue.identifier} has no valid "updatedAt" (${JSON.stringify(issue.updatedAt)}); the page was not written`);
  }
  const team = obj(issue.team);
  const state = obj(issue.state);
  const labelNodes = obj(issue.labels)?.nodes;
  const labels = Array.isArray(labelNodes) ? labelNodes.map((l) => str(obj(l)?.name)).filter((n): n is string => n !== null) : [];
  const normalised: NormalisedIssue = {
    id: issue.id,
    key: issue.identifier,
    url: str(issue.url),
    project: str(team?.key),
    // Linear has no issue types (bug/feature are labels).
    type: null,
    title: str(issue.title),
    description: str(issue.description),
    status: str(state?.name),
    status_category: statusCategory(state?.type),
    priority: priorityName(issue.priority),
    // `name` is the full name Linear's UI shows; `displayName` is the short handle.
    assignee: str(obj(issue.assignee)?.name),
    reporter: str(obj(issue.creator)?.name),
    labels,
    parent: str(obj(issue.parent)?.identifier),
    sprint: cycleName(obj(issue.cycle)),
    story_points: num(issue.estimate),
    due_date: str(issue.dueDate),
    created_at: isoOrNull(issue.createdAt),
    updated_at: new Date(updatedMs).toISOString(),
    resolved_at: isoOrNull(issue.completedAt) ?? isoOrNull(issue.canceledAt),
  };
  const record: PulledRecord = { issue: normalised, updatedMs, raw };
  if (team && typeof team.key === "string") {
    record.projectInfo = { key: team.key, id: str(team.id), name: str(team.name) };
  }
  return record;
}

/** Members of the raw issue that the unified columns show; the change log lists the others. */
export const COVERED_MEMBERS: ReadonlySet<string> = new Set([
  "id", "identifier", "title", "description", "priority", "priorityLabel", "estimate", "dueDate", "url",
  "createdAt", "updatedAt", "completedAt", "canceledAt", "state", "assignee", "creator", "labels", "team",
  "parent", "cycle",
]);
