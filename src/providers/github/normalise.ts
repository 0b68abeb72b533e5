// GitHub issue JSON → the unified issue (SPEC §8, §10). GitHub has fewer fields than the unified
// issue; how each column is filled, and why:
// - status: GitHub has two states and a close reason. The status shows both, in names that can be
//   written back as they are: "Open", "Closed" (completed, or closed before reasons existed),
//   "Closed (not planned)", "Closed (duplicate)". Category (SPEC §10): open → todo, closed →
//   done, not planned / duplicate → cancelled. GitHub has no "in progress".
// - priority: GitHub has none. The common convention of a label named `priority: <name>` is
//   read as the priority (the first such label), and such labels are not listed in `labels`.
// - due_date: GitHub issues have no due date of their own; the milestone's `due_on` (its UTC
//   date) is shown, read-only (writes.ts refuses due_date writes).
// - assignee / reporter: logins (the list endpoints carry no display names); the first assignee.
// - parent: `parent_issue_url` (sub-issues) as `owner/name#N`. story_points, sprint: null.

import { RemoteError } from "../../errors.js";
import { isoOrNull, parseRemoteTime } from "../../core/time.js";
import type { NormalisedIssue, PulledRecord, StatusCategory } from "../provider.js";
import type { GitHubIssue } from "./client.js";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** The unified status names, by GitHub `state_reason` for closed issues. */
export const STATUS_OPEN = "Open";
export const CLOSED_STATUS: Record<"completed" | "not_planned" | "duplicate", string> = {
  completed: "Closed",
  not_planned: "Closed (not planned)",
  duplicate: "Closed (duplicate)",
};

export function statusName(state: unknown, reason: unknown): string | null {
  if (state === "open") return STATUS_OPEN;
  if (state !== "closed") return null;
  return reason === "not_planned" || reason === "duplicate" ? CLOSED_STATUS[reason] : CLOSED_STATUS.completed;
}

export function statusCategory(state: unknown, reason: unknown): StatusCategory | null {
  if (state === "open") return "todo";
  if (state !== "closed") return null;
  return reason === "not_planned" || reason === "duplicate" ? "cancelled" : "done";
}

const PRIORITY_LABEL = /^priority:\s*(.+)$/i;

/** The name in a `priority: <name>` label, or null for any other label. */
export function priorityOfLabel(label: string): string | null {
  return PRIORITY_LABEL.exec(label)?.[1]?.trim() || null;
}

/** Label names: GitHub sends label objects, and in some payloads plain strings. */
export function labelNames(labels: unknown): string[] {
  if (!Array.isArray(labels)) return [];
  const out: string[] = [];
  for (const l of labels) {
    const name = typeof l === "string" ? l : str(obj(l)?.name);
    if (name) out.push(name);
  }
  return out;
}

/** `https://api.github.com/repos/acme/api` → `acme/api`. */
export function repoOfUrl(url: unknown): string | null {
  const m = typeof url === "string" ? /\/repos\/([^/]+)\/([^/]+)\/?$/.exec(url) : null;
  return m ? `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}` : null;
}

/** `https://api.github.com/repos/acme/api/issues/7` → `acme/api#7`. */
function parentKey(url: unknown): string | null {
  const m = typeof url === "string" ? /\/repos\/([^/]+)\/([^/]+)\/issues\/(\d+)\/?$/.exec(url) : null;
  return m ? `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}#${m[3]}` : null;
}

export function isPullRequest(raw: unknown): boolean {
  const o = obj(raw);
  return o !== null && o.pull_request !== undefined && o.pull_request !== null;
}

export interface RepoInfo {
  /** `owner/name` as pmsync was asked for it. */
  fullName: string;
  id: number | null;
}

export function normaliseIssue(raw: unknown, repo: RepoInfo): PulledRecord {
  const issue = obj(raw) as GitHubIssue | null;
  if (!issue || typeof issue.id !== "number" || typeof issue.number !== "number") {
    throw new RemoteError(`an issue of ${repo.fullName} has no id or number; the page was not written`);
  }
  // GitHub's own spelling of the repository (names are case-insensitive in requests).
  const project = repoOfUrl(issue.repository_url) ?? repo.fullName;
  const key = `${project}#${issue.number}`;
  const updatedMs = parseRemoteTime(issue.updated_at);
  if (updatedMs === null) {
    throw new RemoteError(`issue ${key} has no valid "updated_at" (${JSON.stringify(issue.updated_at)}); the page was not written`);
  }
  const allLabels = labelNames(issue.labels);
  const priorities = allLabels.map(priorityOfLabel);
  const assignees = Array.isArray(issue.assignees) ? issue.assignees : [];
  const dueOn = isoOrNull(obj(issue.milestone)?.due_on);
  const normalised: NormalisedIssue = {
    id: String(issue.id),
    key,
    url: str(issue.html_url),
    project,
    type: str(obj(issue.type)?.name),
    title: str(issue.title),
    description: str(issue.body),
    status: statusName(issue.state, issue.state_reason),
    status_category: statusCategory(issue.state, issue.state_reason),
    priority: priorities.find((p) => p !== null) ?? null,
    assignee: str(obj(assignees[0] ?? issue.assignee)?.login),
    reporter: str(obj(issue.user)?.login),
    labels: allLabels.filter((_, i) => priorities[i] === null),
    parent: parentKey(issue.parent_issue_url),
    sprint: null,
    story_points: null,
    due_date: dueOn ? dueOn.slice(0, 10) : null,
    created_at: isoOrNull(issue.created_at),
    updated_at: new Date(updatedMs).toISOString(),
    resolved_at: isoOrNull(issue.closed_at),
  };
  const sameRepo = project.toLowerCase() === repo.fullName.toLowerCase();
  return {
    issue: normalised,
    updatedMs,
    raw,
    projectInfo: { key: project, id: sameRepo && repo.id !== null ? String(repo.id) : null, name: project.split("/")[1] ?? project },
  };
}

/**
 * Members the unified columns already show (state_reason is part of the status name); the change
 * log lists differences in the others (milestone, locked, issue field values …).
 */
export const COVERED_MEMBERS: ReadonlySet<string> = new Set([
  "id", "number", "title", "body", "state", "state_reason", "labels", "assignee", "assignees", "user", "type",
  "parent_issue_url", "created_at", "updated_at", "closed_at", "html_url",
]);
