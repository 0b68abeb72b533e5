// The unified targets a source field can feed (SPEC §7), the status categories a status can map
// to, the bands, and the `custom.<slug>` naming of kept fields.

import { UsageError } from "../errors.js";
import type { StatusCategory } from "../providers/provider.js";

/**
 * Export columns (SPEC §8) that a tracker's own or custom fields can feed. Left out: title,
 * description, status and status_category (every provider fills them from its own fields;
 * statuses map to categories through `status:<name>` rows), and the bookkeeping columns.
 */
export const FIELD_TARGETS = ["story_points", "sprint", "due_date", "priority", "labels", "parent", "assignee", "reporter", "type"] as const;
export type UnifiedTarget = (typeof FIELD_TARGETS)[number];

export const STATUS_TARGETS: readonly StatusCategory[] = ["todo", "in_progress", "done", "cancelled"];

/** `mappings` states: three from the scorer, three from the user (never overwritten by re-scoring). */
export type ScoredState = "auto" | "suggested" | "unmapped";
export type DecidedState = "approved" | "manual" | "ignored";
export type MappingState = ScoredState | DecidedState;
export const DECIDED_STATES: ReadonlySet<string> = new Set<DecidedState>(["approved", "manual", "ignored"]);
/** States whose target is applied to the cache. */
export const APPLIED_STATES: ReadonlySet<string> = new Set(["auto", "suggested", "approved", "manual"]);

export const AUTO_AT = 0.95;
export const SUGGEST_AT = 0.8;
/** An unmapped row whose best candidate reaches this is asked about in `mappings review`. */
export const REVIEW_FLOOR = 0.5;

export function band(confidence: number): ScoredState {
  return confidence >= AUTO_AT ? "auto" : confidence >= SUGGEST_AT ? "suggested" : "unmapped";
}

/** Status rows are keyed `status:<name>` in `field_mappings.source_id`. */
export const STATUS_PREFIX = "status:";
export const isStatusRow = (sourceId: string): boolean => sourceId.startsWith(STATUS_PREFIX);

export const CUSTOM_PREFIX = "custom.";
export const isCustomTarget = (t: string | null): t is `custom.${string}` => t !== null && t.startsWith(CUSTOM_PREFIX);

/** `Customer Impact` → `customer_impact`; accents dropped, at most 48 characters. */
export function slugify(text: string): string {
  return text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 48)
    .replace(/_+$/, "");
}

/**
 * The slug each field keeps as `custom.<slug>`: from its name, or, when several fields share
 * that slug (two fields named "Team"), the name plus the id's digits (`team_10040`).
 */
export function customSlugs(fields: readonly { id: string; name: string }[]): Map<string, string> {
  const base = new Map(fields.map((f) => [f.id, slugify(f.name) || slugify(f.id) || "field"]));
  const count = new Map<string, number>();
  for (const s of base.values()) count.set(s, (count.get(s) ?? 0) + 1);
  const out = new Map<string, string>();
  for (const [id, s] of base) {
    const suffix = slugify(id.replace(/^\D+/, "")) || slugify(id);
    out.set(id, (count.get(s) ?? 0) > 1 ? `${s}_${suffix}` : s);
  }
  return out;
}

const SLUG = /^[a-z0-9][a-z0-9_]*$/;

/** Checks a target typed by the user; returns it normalised. */
export function parseTarget(value: string, status: boolean): string {
  const v = value.trim();
  if (status) {
    const cat = v.replace(/^status_category[.:=]/, "").toLowerCase().replace(/[\s-]+/g, "_");
    if ((STATUS_TARGETS as readonly string[]).includes(cat)) return cat;
    throw new UsageError(`"${value}" is not a status category`, { hint: `a status maps to one of: ${STATUS_TARGETS.join(", ")}` });
  }
  if ((FIELD_TARGETS as readonly string[]).includes(v)) return v;
  if (v.startsWith(CUSTOM_PREFIX)) {
    const slug = v.slice(CUSTOM_PREFIX.length);
    if (SLUG.test(slug) && slug.length <= 48) return v;
    throw new UsageError(`"${value}" is not a valid custom column`, { hint: "use custom.<slug>: lower-case letters, digits and _, e.g. custom.customer_impact" });
  }
  throw new UsageError(`"${value}" is not a mapping target`, {
    hint: `targets: ${FIELD_TARGETS.join(", ")}, or custom.<slug> to keep the field as its own export column`,
  });
}
