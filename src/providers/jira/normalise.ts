// Jira issue JSON → the unified issue (SPEC §8, §10).

import { RemoteError } from "../../errors.js";
import { isoOrNull, parseRemoteTime } from "../../core/time.js";
import type { NormalisedIssue, PulledRecord, StatusCategory } from "../provider.js";
import { adfToText } from "./adf.js";
import type { JiraIssue } from "./client.js";
import type { KnownFields } from "./fields.js";

const CANCELLED_RESOLUTIONS = new Set(["won't do", "won't fix", "duplicate", "cannot reproduce", "declined"]);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

export function statusCategory(fields: Obj): StatusCategory | null {
  const cat = str(obj(obj(fields.status)?.statusCategory)?.key);
  switch (cat) {
    case "new":
      return "todo";
    case "indeterminate":
      return "in_progress";
    case "done": {
      const resolution = str(obj(fields.resolution)?.name)?.toLowerCase().replace(/’/g, "'");
      return resolution && CANCELLED_RESOLUTIONS.has(resolution) ? "cancelled" : "done";
    }
    default:
      return null;
  }
}

/** The active sprint if there is one, else the most recent. */
function sprintName(value: unknown): string | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  const sprints = value.map(obj).filter((s): s is Obj => s !== null);
  const active = sprints.find((s) => s.state === "active");
  const chosen = active ?? sprints[sprints.length - 1];
  return chosen ? str(chosen.name) : null;
}

function storyPoints(fields: Obj, ids: string[]): number | null {
  for (const id of ids) {
    const v = fields[id];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return null;
}

export function normaliseIssue(raw: unknown, site: string, known: KnownFields): PulledRecord {
  const issue = obj(raw) as (JiraIssue & Obj) | null;
  const fields = obj(issue?.fields);
  if (!issue || typeof issue.id !== "string" || typeof issue.key !== "string" || !fields) {
    throw new RemoteError("a search result has no id, key or fields; the page was not written");
  }
  const updatedMs = parseRemoteTime(fields.updated);
  if (updatedMs === null) {
    throw new RemoteError(`issue ${issue.key} has no valid "updated" time (${JSON.stringify(fields.updated)}); the page was not written`);
  }
  const project = obj(fields.project);
  const labels = Array.isArray(fields.labels) ? fields.labels.filter((l): l is string => typeof l === "string") : [];
  const normalised: NormalisedIssue = {
    id: issue.id,
    key: issue.key,
    url: `${site.replace(/\/+$/, "")}/browse/${issue.key}`,
    project: str(project?.key),
    type: str(obj(fields.issuetype)?.name),
    title: str(fields.summary),
    description: adfToText(fields.description),
    status: str(obj(fields.status)?.name),
    status_category: statusCategory(fields),
    priority: str(obj(fields.priority)?.name),
    assignee: str(obj(fields.assignee)?.displayName),
    reporter: str(obj(fields.reporter)?.displayName),
    labels,
    parent: str(obj(fields.parent)?.key),
    sprint: known.sprint ? sprintName(fields[known.sprint]) : null,
    story_points: storyPoints(fields, known.storyPoints),
    due_date: str(fields.duedate),
    created_at: isoOrNull(fields.created),
    updated_at: new Date(updatedMs).toISOString(),
    resolved_at: isoOrNull(fields.resolutiondate),
  };
  const record: PulledRecord = { issue: normalised, updatedMs, raw };
  if (project && typeof project.key === "string") {
    record.projectInfo = { key: project.key, id: str(project.id), name: str(project.name) };
  }
  return record;
}

/** Raw fields that the unified columns already show; the change log lists the others by id. */
export function coveredRawFields(known: KnownFields): Set<string> {
  return new Set([
    "summary", "description", "issuetype", "status", "priority", "assignee", "reporter", "labels", "parent",
    "duedate", "created", "updated", "resolutiondate", "project", ...(known.sprint ? [known.sprint] : []), ...known.storyPoints,
  ]);
}
