// What names, schema types and values mean: the tables the scorer reads. Each phrase carries a
// weight: 1 for a name that says exactly the target, less for a name that usually but not always
// means it ("Severity" is not quite a priority).

import type { StatusCategory } from "../providers/provider.js";
import type { UnifiedTarget } from "./targets.js";

export type Phrase = readonly [phrase: string, weight: number];

export const FIELD_SYNONYMS: Record<UnifiedTarget, readonly Phrase[]> = {
  story_points: [
    ["story points", 1], ["story point estimate", 1], ["storypoints", 1], ["story pts", 0.95], ["sp", 0.7],
    ["points", 0.85], ["story size", 0.7], ["estimate", 0.55], ["estimation", 0.55], ["effort", 0.5],
    ["complexity", 0.45], ["size", 0.4],
  ],
  sprint: [["sprint", 1], ["sprint name", 0.95], ["iteration", 0.85], ["cycle", 0.7]],
  due_date: [
    ["due date", 1], ["due", 0.95], ["duedate", 1], ["due by", 0.95], ["deadline", 0.9], ["delivery date", 0.7],
    ["target date", 0.7], ["target end", 0.55], ["end date", 0.5], ["finish date", 0.5],
  ],
  priority: [["priority", 1], ["prio", 0.9], ["urgency", 0.65], ["importance", 0.6], ["severity", 0.5]],
  labels: [["labels", 1], ["tags", 1], ["keywords", 0.75]],
  parent: [["parent", 1], ["parent issue", 1], ["parent task", 1], ["parent link", 0.95], ["epic link", 0.9], ["epic", 0.55]],
  assignee: [["assignee", 1], ["assigned to", 1], ["assigned", 0.9], ["owner", 0.6], ["responsible", 0.6], ["developer", 0.5]],
  reporter: [
    ["reporter", 1], ["reported by", 1], ["raised by", 0.85], ["requester", 0.8], ["requestor", 0.8], ["requested by", 0.8],
    ["submitter", 0.8], ["created by", 0.75], ["author", 0.7],
  ],
  type: [["issue type", 1], ["ticket type", 0.9], ["work type", 0.85], ["work item type", 0.9], ["type", 0.8], ["kind", 0.5]],
};

export const STATUS_SYNONYMS: Record<StatusCategory, readonly Phrase[]> = {
  todo: [
    ["to do", 1], ["todo", 1], ["new", 1], ["open", 0.95], ["backlog", 1], ["not started", 1], ["selected for development", 0.95],
    ["ready for development", 0.95], ["ready", 0.85], ["triage", 0.9], ["planned", 0.85], ["reopened", 0.9], ["queued", 0.85],
  ],
  in_progress: [
    ["in progress", 1], ["doing", 1], ["in review", 1], ["under review", 1], ["code review", 1], ["review", 0.9],
    ["in development", 1], ["development", 0.85], ["in testing", 1], ["testing", 0.95], ["in qa", 1], ["qa", 0.9],
    ["started", 0.95], ["active", 0.85], ["implementing", 0.95], ["blocked", 0.75], ["feedback", 0.7], ["waiting for customer", 0.7],
    ["on hold", 0.6], ["pending", 0.6],
  ],
  done: [
    ["done", 1], ["closed", 1], ["resolved", 1], ["complete", 1], ["completed", 1], ["fixed", 1], ["finished", 1],
    ["released", 1], ["shipped", 1], ["deployed", 1], ["verified", 0.9], ["accepted", 0.8],
  ],
  cancelled: [
    ["cancelled", 1], ["canceled", 1], ["rejected", 1], ["won't do", 1], ["won't fix", 1], ["wontfix", 1], ["declined", 1],
    ["duplicate", 1], ["invalid", 1], ["abandoned", 1], ["cannot reproduce", 1], ["not a bug", 0.9], ["obsolete", 0.9],
  ],
};

/** Words that mark a field as no longer the real one: "Story Points (old)", "Sprint - DO NOT USE". */
export const LEGACY_WORDS: ReadonlySet<string> = new Set(["legacy", "old", "deprecated", "obsolete", "unused", "archived", "backup", "copy", "migrated", "dnu"]);
export const LEGACY_PHRASES = [/\bdo\s*n[o']t\s+use\b/i, /\bnot\s+used\b/i];

/**
 * Schema types that state a field's meaning outright (Jira's `schema.custom`). The confidence is
 * that of the schema alone; duplicate names do not lower it (the type, not the name, decides).
 */
export const SCHEMA_TARGETS: Record<string, { target: UnifiedTarget; confidence: number; why: string }> = {
  "com.pyxis.greenhopper.jira:jsw-story-points": { target: "story_points", confidence: 1, why: "Jira Software's story point field (jsw-story-points)" },
  "com.pyxis.greenhopper.jira:gh-sprint": { target: "sprint", confidence: 1, why: "Jira Software's sprint field (gh-sprint)" },
  "com.pyxis.greenhopper.jira:gh-epic-link": { target: "parent", confidence: 0.97, why: "Jira's Epic Link (gh-epic-link) holds the issue's epic" },
  "com.atlassian.jpo:jpo-custom-field-parent": { target: "parent", confidence: 0.96, why: "Advanced Roadmaps' Parent Link (jpo-custom-field-parent)" },
};

/**
 * Schema types of fields that hold tracker machinery, not issue content a person would export:
 * ranking, development panels, SLA timers, epic colours. They are never asked about.
 */
export const INTERNAL_SCHEMAS: readonly RegExp[] = [
  /^com\.pyxis\.greenhopper\.jira:gh-lexo-rank$/,
  /^com\.pyxis\.greenhopper\.jira:gh-epic-(color|status)$/,
  /devsummary/,
  /^com\.atlassian\.servicedesk:sd-sla-field$/,
  /^com\.atlassian\.servicedesk:vp-origin$/,
  /^com\.atlassian\.servicedesk\.servicedesk-lingo-integration-plugin/,
  /^com\.atlassian\.servicedesk\.sentiment/,
  /^com\.atlassian\.jira\.plugins\.proforma/,
  /^com\.atlassian\.jira\.ext\.charting:/,
  /^com\.atlassian\.jira\.toolkit:(lastupdaterorcommenter|participants|comments|dayslastcommented|lastusercommented|message|viewmessage)/,
  /^com\.atlassian\.bitbucket/,
  /^com\.atlassian\.jira\.plugin\.system\.customfieldtypes:(readonlyfield)$/,
];

/** Common priority/severity words: values that look like a priority scale. */
export const PRIORITY_WORDS = /^(p[0-5]|s[1-5]\b.*|highest|high|medium|normal|low|lowest|critical|blocker|major|minor|trivial|urgent|immediate|none)$/i;

/** Issue type names, for values of a field that might be the type. */
export const TYPE_WORDS = /^(bug|story|task|sub-?task|epic|feature|improvement|incident|defect|support|spike|chore|request|change|problem)$/i;

/** Story point scales: Fibonacci-like values (and the halves and 100 some teams use). */
export const POINT_SCALE: ReadonlySet<number> = new Set([0, 0.5, 1, 2, 3, 5, 8, 13, 20, 21, 34, 40, 55, 89, 100]);
