// The Redmine field catalog: the standard issue fields and the issue custom fields, with a
// readable type from each custom field's `field_format`.

import type { FieldDef } from "../provider.js";
import type { RedmineCustomField, RedmineIssue } from "./client.js";

/** A custom field that carries the unified story points (Redmine has no such standard field). */
export const isStoryPointsName = (name: unknown): boolean => typeof name === "string" && /^\s*story[ _-]?points?\s*$/i.test(name);

const standard = (id: string, name: string, type: string): FieldDef => ({ id, name, type, custom: false, schema: { standard: id, type } });

/** Redmine's standard issue fields, by the member names the issue JSON uses. */
export const STANDARD_FIELDS: readonly FieldDef[] = [
  standard("subject", "Subject", "string"),
  standard("description", "Description", "string"),
  standard("tracker", "Tracker", "tracker"),
  standard("status", "Status", "status"),
  standard("priority", "Priority", "priority"),
  standard("assigned_to", "Assignee", "user"),
  standard("fixed_version", "Target version", "version"),
  standard("start_date", "Start date", "date"),
  standard("due_date", "Due date", "date"),
  standard("done_ratio", "% Done", "number"),
  standard("estimated_hours", "Estimated time", "number"),
  standard("parent", "Parent task", "issue"),
];

const FORMAT_TYPES: Record<string, string> = {
  string: "string",
  text: "string",
  link: "string",
  int: "number",
  float: "number",
  date: "date",
  bool: "boolean",
  list: "string",
  enumeration: "string",
  user: "user",
  version: "version",
  attachment: "attachment",
  key_value: "string",
};

/** `custom_fields.<id>`: the id is stable across renames; the name is shown beside it. */
export const customFieldId = (id: number): string => `custom_fields.${id}`;

export function customFieldDef(cf: RedmineCustomField): FieldDef {
  const base = FORMAT_TYPES[cf.field_format] ?? "unknown";
  return { id: customFieldId(cf.id), name: cf.name, type: cf.multiple ? `array<${base}>` : base, custom: true, schema: cf };
}

/**
 * Without admin rights /custom_fields.json answers 403: the catalog then lists the custom fields
 * that recent issues carry (name, multiple; the format is not in issue payloads).
 */
export function seenCustomFields(issues: RedmineIssue[]): FieldDef[] {
  const seen = new Map<number, FieldDef>();
  for (const issue of issues) {
    for (const cv of issue.custom_fields ?? []) {
      if (typeof cv?.id !== "number" || seen.has(cv.id)) continue;
      seen.set(cv.id, {
        id: customFieldId(cv.id),
        name: cv.name,
        type: cv.multiple ? "array<string>" : "string",
        custom: true,
        schema: { id: cv.id, name: cv.name, multiple: cv.multiple === true, source: "issues" },
      });
    }
  }
  return [...seen.values()].sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
}
