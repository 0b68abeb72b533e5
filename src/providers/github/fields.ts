// GitHub issues have a fixed set of fields (no per-site custom fields to discover, so no request):
// the catalog lists the ones pmsync reads, with GitHub's own types. (Organisation-level issue
// fields, `issue_field_values`, stay in `raw`.)

import type { FieldDef } from "../provider.js";
import { CLOSED_STATUS, STATUS_OPEN } from "./normalise.js";

const field = (id: string, name: string, type: string): FieldDef => ({ id, name, type, custom: false, schema: { type, source: "github-rest" } });

export const GITHUB_FIELDS: readonly FieldDef[] = [
  field("title", "Title", "string"),
  field("body", "Body", "string"),
  // The unified status names pmsync shows and accepts (edit/import check values against them).
  { ...field("state", "State", "string"), schema: { type: "string", source: "github-rest", unified: "status", allowedValues: [STATUS_OPEN, ...Object.values(CLOSED_STATUS)] } },
  field("state_reason", "State reason", "string"),
  field("labels", "Labels", "array<label>"),
  field("assignees", "Assignees", "array<user>"),
  field("milestone", "Milestone", "milestone"),
  field("type", "Issue type", "issue-type"),
];

export function fieldCatalog(): FieldDef[] {
  return GITHUB_FIELDS.map((f) => ({ ...f }));
}
