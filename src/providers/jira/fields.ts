// The Jira field catalog: what pmsync requests in searches, and which custom fields carry the
// unified sprint and story points (found by their schema type, since ids differ per site).

import type { FieldDef } from "../provider.js";
import type { JiraField } from "./client.js";

export const SPRINT_SCHEMA = "com.pyxis.greenhopper.jira:gh-sprint";
export const STORY_POINTS_SCHEMA = "com.pyxis.greenhopper.jira:jsw-story-points";
const FLOAT_SCHEMA = "com.atlassian.jira.plugin.system.customfieldtypes:float";

/**
 * System fields pmsync asks for. Left out: comments, worklogs and attachments (large, and not
 * issue fields), `creator` (never shown), and the counters `watches`/`votes` (they change without
 * an edit, so they would be stripped as volatile anyway).
 */
export const SYSTEM_FIELDS = [
  "summary", "description", "issuetype", "status", "priority", "assignee", "reporter",
  "labels", "parent", "duedate", "created", "updated", "resolution", "resolutiondate", "project",
  "components", "fixVersions", "versions", "environment", "timetracking", "lastViewed",
];

export function toFieldDef(f: JiraField): FieldDef {
  const s = f.schema;
  const type = s?.type ? (s.items ? `${s.type}<${s.items}>` : s.type) : "unknown";
  return { id: f.id, name: f.name, type, custom: Boolean(f.custom), schema: s ?? null };
}

/** Explicit `fields` for search: the system fields above plus every custom field of the site. */
export function requestedFields(catalog: FieldDef[]): string[] {
  const custom = catalog.filter((f) => f.custom).map((f) => f.id);
  return [...SYSTEM_FIELDS, ...custom];
}

function customSchema(f: FieldDef): string | undefined {
  return (f.schema as { custom?: string } | null)?.custom;
}

export interface KnownFields {
  sprint: string | null;
  storyPoints: string[];
}

/** Fields whose meaning the schema type states outright; the mapping review handles the rest. */
export function knownFields(catalog: FieldDef[]): KnownFields {
  const sprint = catalog.find((f) => customSchema(f) === SPRINT_SCHEMA)?.id ?? null;
  const storyPoints = [
    ...catalog.filter((f) => customSchema(f) === STORY_POINTS_SCHEMA).map((f) => f.id),
    ...catalog.filter((f) => customSchema(f) === FLOAT_SCHEMA && /^story points$/i.test(f.name.trim())).map((f) => f.id),
  ];
  return { sprint, storyPoints };
}
