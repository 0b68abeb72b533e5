// Linear's field catalog. Linear has no custom fields: every issue has the same fixed fields, so
// the catalog is a constant (no request), typed as Linear's schema types them.

import type { FieldDef } from "../provider.js";

interface LinearField {
  id: string;
  name: string;
  type: string;
  /** The GraphQL type of `Issue.<id>` in Linear's schema. */
  graphql: string;
}

const FIELDS: readonly LinearField[] = [
  { id: "title", name: "Title", type: "string", graphql: "String!" },
  { id: "description", name: "Description", type: "markdown", graphql: "String" },
  { id: "priority", name: "Priority", type: "number (0 none, 1 urgent … 4 low)", graphql: "Float!" },
  { id: "estimate", name: "Estimate", type: "number", graphql: "Float" },
  { id: "dueDate", name: "Due date", type: "date", graphql: "TimelessDate" },
  { id: "state", name: "Status", type: "workflow state", graphql: "WorkflowState!" },
  { id: "assignee", name: "Assignee", type: "user", graphql: "User" },
  { id: "labels", name: "Labels", type: "array<label>", graphql: "IssueLabelConnection!" },
  { id: "cycle", name: "Cycle", type: "cycle", graphql: "Cycle" },
  { id: "project", name: "Project", type: "project", graphql: "Project" },
  { id: "parent", name: "Parent", type: "issue", graphql: "Issue" },
];

export function fieldCatalog(): FieldDef[] {
  return FIELDS.map((f) => ({ id: f.id, name: f.name, type: f.type, custom: false, schema: { graphql: f.graphql } }));
}
