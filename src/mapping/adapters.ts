// What the mapping needs to know about each provider: which of its fields it maps itself (those
// get no mapping row), which unified columns it fills only from mappable fields (the mapping owns
// those), where a field's value sits in a stored payload, and how far its status categories can
// be trusted. A provider without an entry gets the generic one.

import { knownFields, SYSTEM_FIELDS } from "../providers/jira/fields.js";
import type { CategoryAuthority, SourceField } from "./scorer.js";
import { FIELD_TARGETS, type UnifiedTarget } from "./targets.js";

export interface MappingAdapter {
  /** For reasons: "Jira". */
  readonly label: string;
  readonly authority: CategoryAuthority;
  /** Targets the provider fills from its own fields (a mapped field then overrides it where it has a value). */
  readonly native: ReadonlySet<UnifiedTarget>;
  /**
   * Targets the provider fills only from fields that are themselves mapping rows (Jira story
   * points and sprint): the mapping decides their value alone.
   */
  readonly owned: ReadonlySet<UnifiedTarget>;
  /** The catalog fields that get a mapping row. */
  rowFields(catalog: readonly SourceField[]): SourceField[];
  /** The fields the provider itself reads for each owned target, in its order. */
  defaults(catalog: readonly SourceField[]): Map<UnifiedTarget, string[]>;
  /** A field's value in a stored payload (undefined or null: not set). */
  value(raw: unknown, field: SourceField): unknown;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : null);

/** Jira system fields the provider maps itself, or that carry no issue content. */
const JIRA_COVERED = new Set([
  "summary", "description", "issuetype", "status", "priority", "assignee", "reporter", "labels", "parent", "duedate",
  "created", "updated", "resolutiondate", "project", "lastViewed", "statuscategorychangedate", "issuekey", "thumbnail",
]);

const jira: MappingAdapter = {
  label: "Jira",
  authority: "full",
  native: new Set(["due_date", "priority", "labels", "parent", "assignee", "reporter", "type"]),
  owned: new Set(["story_points", "sprint"]),
  // Custom fields, and the system fields pmsync requests but does not map (components, versions …).
  rowFields: (catalog) => catalog.filter((f) => f.custom || (SYSTEM_FIELDS.includes(f.id) && !JIRA_COVERED.has(f.id))),
  defaults(catalog) {
    const known = knownFields(catalog as Parameters<typeof knownFields>[0]);
    return new Map<UnifiedTarget, string[]>([
      ["story_points", known.storyPoints],
      ["sprint", known.sprint ? [known.sprint] : []],
    ]);
  },
  value: (raw, f) => obj(obj(raw)?.fields)?.[f.id],
};

/** Redmine standard fields the provider maps itself (the rest of the standard set get rows). */
const REDMINE_COVERED = new Set(["subject", "description", "tracker", "status", "priority", "assigned_to", "fixed_version", "due_date", "parent", "author"]);
// Redmine's normaliser reads story points from a custom field named so (see redmine/normalise.ts).
const REDMINE_STORY_POINTS = /^\s*story[ _-]?points?\s*$/i;

const redmine: MappingAdapter = {
  label: "Redmine",
  authority: "closed-only",
  native: new Set(["due_date", "priority", "parent", "assignee", "reporter", "type", "sprint"]),
  owned: new Set(["story_points"]),
  rowFields: (catalog) => catalog.filter((f) => f.custom || !REDMINE_COVERED.has(f.id)),
  defaults: (catalog) => new Map([["story_points", catalog.filter((f) => f.custom && REDMINE_STORY_POINTS.test(f.name)).map((f) => f.id)]]),
  value(raw, f) {
    const issue = obj(raw);
    const m = /^custom_fields\.(\d+)$/.exec(f.id);
    if (!m) return issue?.[f.id];
    const cf = Array.isArray(issue?.custom_fields) ? issue.custom_fields.map(obj).find((c) => c !== null && String(c.id) === m[1]) : undefined;
    const v = cf?.value;
    // Redmine sends "" for an unset value, [] for an unset multiple one.
    return v === "" || (Array.isArray(v) && v.length === 0) ? null : v;
  },
};

/** Providers with a fixed field set (GitHub, Linear): every field is mapped by the provider; only statuses get rows. */
const fixed = (label: string): MappingAdapter => ({
  label,
  authority: "full",
  native: new Set(FIELD_TARGETS),
  owned: new Set(),
  rowFields: (catalog) => catalog.filter((f) => f.custom),
  defaults: () => new Map(),
  value: (raw, f) => obj(raw)?.[f.id],
});

const generic = (label: string): MappingAdapter => ({
  label,
  authority: "full",
  native: new Set(FIELD_TARGETS.filter((t) => t !== "story_points" && t !== "sprint")),
  owned: new Set(),
  rowFields: (catalog) => catalog.filter((f) => f.custom),
  defaults: () => new Map(),
  value: (raw, f) => obj(obj(raw)?.fields)?.[f.id] ?? obj(raw)?.[f.id],
});

const ADAPTERS: Record<string, MappingAdapter> = {
  jira,
  sandbox: jira,
  redmine,
  github: fixed("GitHub"),
  linear: fixed("Linear"),
};

export function adapterFor(provider: string): MappingAdapter {
  return ADAPTERS[provider] ?? generic(provider.charAt(0).toUpperCase() + provider.slice(1));
}
