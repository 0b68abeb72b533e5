// The named signals the scorer combines. Each returns a number and the sentence that explains it,
// so every confidence can be read back as the reasons that made it.

import { FIELD_SYNONYMS, LEGACY_PHRASES, LEGACY_WORDS, POINT_SCALE, PRIORITY_WORDS, TYPE_WORDS, type Phrase } from "./synonyms.js";
import type { UnifiedTarget } from "./targets.js";
import { display, isObj, looksLikeKey, num } from "./values.js";

export interface Signal {
  /** Added to (or, negative, taken from) the confidence. */
  delta: number;
  reason: string;
}

const STOP = new Set(["the", "a", "an", "of", "for", "field", "custom", "cf", "jira"]);

function singular(t: string): string {
  if (t.length > 4 && t.endsWith("ies")) return t.slice(0, -3) + "y";
  if (t.length > 3 && t.endsWith("s") && !/(ss|us|is)$/.test(t)) return t.slice(0, -1);
  return t;
}

/** Lower-case, accent-free, singular tokens of a name; camelCase split ("dueDate" → due, date). */
export function nameTokens(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/&/g, " and ")
    .replace(/['’]/g, "")
    .split(/[^a-z0-9]+/)
    .filter((t) => t !== "" && !STOP.has(t))
    .map(singular);
}

/** The tokens that carry meaning, and whether the name marks the field as legacy. */
export function meaningfulName(name: string): { tokens: string[]; legacy: boolean } {
  const all = nameTokens(name);
  const phrase = LEGACY_PHRASES.some((re) => re.test(name));
  let tokens = all.filter((t) => !LEGACY_WORDS.has(t));
  if (phrase) tokens = tokens.filter((t) => !["do", "not", "dont", "use", "used"].includes(t));
  return { tokens, legacy: phrase || tokens.length !== all.length };
}

/** The same key for names that read the same ("Story Points", "story-points", "StoryPoints "). */
export function nameKey(name: string): string {
  return meaningfulName(name).tokens.join(" ");
}

/**
 * How well a name says a phrase: 1 when the tokens are the same; when the name holds the phrase
 * and more words ("QA Owner" holds "owner"), less the more extra words there are.
 */
export function phraseMatch(tokens: readonly string[], phrase: string): number {
  const p = nameTokens(phrase);
  if (!p.length || !tokens.length) return 0;
  if (p.length === tokens.length && p.every((t, i) => t === tokens[i])) return 1;
  if (tokens.join("") === p.join("")) return 1; // "storypoints", "due-date"
  if (p.every((t) => tokens.includes(t))) return 0.9 * (0.5 + (0.5 * p.length) / tokens.length);
  return 0;
}

/** The best phrase of a synonym list for a name: its score (match × weight) and which phrase. */
export function bestPhrase(tokens: readonly string[], phrases: readonly Phrase[]): { score: number; phrase: string; exact: boolean } | null {
  let best: { score: number; phrase: string; exact: boolean } | null = null;
  for (const [phrase, weight] of phrases) {
    const m = phraseMatch(tokens, phrase);
    const score = m * weight;
    if (score > 0 && (!best || score > best.score)) best = { score, phrase, exact: m === 1 };
  }
  return best;
}

export function nameSignal(target: UnifiedTarget, name: string): { score: number; reason: string } | null {
  const { tokens } = meaningfulName(name);
  const best = bestPhrase(tokens, FIELD_SYNONYMS[target]);
  if (!best) return null;
  const how = best.exact ? "reads as" : "contains";
  return { score: best.score, reason: `name "${name}" ${how} "${best.phrase}" (name score ${best.score.toFixed(2)})` };
}

// ---- type compatibility ----------------------------------------------------------------------

type Fit = "fits" | "could" | "cannot";

const TYPES: Record<UnifiedTarget, { fits: RegExp; could: RegExp }> = {
  story_points: { fits: /^number$/, could: /^(string|any|unknown)$/ },
  sprint: { fits: /^(array<json>|sprint|cycle)$/, could: /^(string|option|array<option>|array<string>|version|json|any|unknown)$/ },
  due_date: { fits: /^date$/, could: /^(datetime|string|any|unknown)$/ },
  priority: { fits: /^(option|priority)$/, could: /^(string|number|any|unknown)$/ },
  labels: { fits: /^array<(string|option|label)>$/, could: /^(string|option|any|unknown)$/ },
  parent: { fits: /^(issuelink|issue)$/, could: /^(string|json|any|unknown)$/ },
  assignee: { fits: /^user$/, could: /^(array<user>|string|any|unknown)$/ },
  reporter: { fits: /^user$/, could: /^(array<user>|string|any|unknown)$/ },
  type: { fits: /^(option|issuetype|tracker)$/, could: /^(string|any|unknown)$/ },
};

export function typeFit(target: UnifiedTarget, type: string): Fit {
  const t = TYPES[target];
  return t.fits.test(type) ? "fits" : t.could.test(type) ? "could" : "cannot";
}

export function typeSignal(target: UnifiedTarget, type: string): Signal & { fit: Fit } {
  const fit = typeFit(target, type);
  if (fit === "fits") return { fit, delta: 0.1, reason: `type ${type} fits ${target}` };
  if (fit === "could") return { fit, delta: 0, reason: `type ${type} can hold ${target}` };
  return { fit, delta: 0, reason: `type ${type} cannot hold ${target}` };
}

// ---- values seen in the cache ------------------------------------------------------------------

const share = (values: readonly unknown[], test: (v: unknown) => boolean) => (values.length ? values.filter(test).length / values.length : 0);
const MOST = 0.8;

function shown(values: readonly unknown[], n = 5): string {
  const seen: string[] = [];
  for (const v of values) {
    const d = display(v);
    if (d === null) continue;
    const cut = d.length > 24 ? `${d.slice(0, 23)}…` : d;
    if (!seen.includes(cut)) seen.push(cut);
    if (seen.length >= n) break;
  }
  return seen.join(", ");
}

const isUser = (v: unknown) => isObj(v) && (typeof v.accountId === "string" || typeof v.emailAddress === "string" || typeof v.login === "string" || (typeof v.id === "number" && typeof v.name === "string" && Object.keys(v).length <= 3));
const isSprint = (v: unknown) => isObj(v) && typeof v.name === "string" && ("state" in v || "boardId" in v || "startDate" in v);
const isDate = (v: unknown) => typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v);

/** What the values seen in the cache say about a target (null: nothing to say). */
export function valueSignal(target: UnifiedTarget, values: readonly unknown[]): Signal | null {
  if (!values.length) return null;
  const flat = values.flatMap((v) => (Array.isArray(v) ? v : [v]));
  switch (target) {
    case "story_points": {
      const nums = values.map(num).filter((n): n is number => n !== null);
      if (nums.length < values.length * MOST) return { delta: -0.3, reason: `values (${shown(values)}) are not numbers` };
      const sorted = [...nums].sort((a, b) => a - b);
      const max = sorted[sorted.length - 1]!;
      const median = sorted[Math.floor(sorted.length / 2)]!;
      if (max > 1000 || median > 100) return { delta: -0.4, reason: `values up to ${max} look like durations or amounts, not points` };
      if (sorted[0]! < 0) return { delta: -0.3, reason: "negative values are not points" };
      if (share(nums, (n) => POINT_SCALE.has(n as number)) >= MOST) return { delta: 0.1, reason: `values ${shown(sorted.filter((n, i) => sorted.indexOf(n) === i))} are on a Fibonacci-like point scale` };
      return { delta: -0.05, reason: `values (${shown(nums)}) are small numbers but not on a point scale` };
    }
    case "sprint":
      if (share(flat, isSprint) >= MOST) return { delta: 0.15, reason: `values are sprints (${shown(flat)})` };
      if (share(flat, (v) => typeof display(v) === "string" && /sprint|iteration|cycle|\d/i.test(display(v)!)) >= MOST) return { delta: 0.05, reason: `values like ${shown(flat, 3)}` };
      return { delta: -0.1, reason: `values (${shown(flat, 3)}) do not look like sprints` };
    case "due_date":
      if (share(values, isDate) >= MOST) return { delta: 0.1, reason: `values are dates (${shown(values, 3)})` };
      return { delta: -0.3, reason: `values (${shown(values, 3)}) are not dates` };
    case "priority":
      if (share(flat, (v) => PRIORITY_WORDS.test(display(v) ?? "") || /^(s|p)\d\b/i.test(display(v) ?? "")) >= MOST) return { delta: 0.1, reason: `values ${shown(flat)} read as a priority scale` };
      return { delta: -0.1, reason: `values (${shown(flat, 3)}) are not priority names` };
    case "labels":
      if (share(values, Array.isArray) < MOST) return { delta: -0.1, reason: "values are single values, not lists" };
      if (share(flat, (v) => typeof v === "string" && !/\s/.test(v)) >= MOST) return { delta: 0.1, reason: `values are lists of tags (${shown(flat, 4)})` };
      return { delta: 0.05, reason: `values are lists (${shown(flat, 4)})` };
    case "parent":
      if (share(values, looksLikeKey) >= MOST) return { delta: 0.1, reason: `values are issue keys (${shown(values, 3)})` };
      return { delta: -0.2, reason: `values (${shown(values, 3)}) are not issue keys` };
    case "assignee":
    case "reporter":
      if (share(flat, isUser) >= MOST) return { delta: 0.05, reason: `values are people (${shown(flat, 3)})` };
      return { delta: -0.1, reason: `values (${shown(flat, 3)}) are not people` };
    case "type":
      if (share(flat, (v) => TYPE_WORDS.test(display(v) ?? "")) >= MOST) return { delta: 0.1, reason: `values ${shown(flat)} are issue types` };
      return { delta: -0.1, reason: `values (${shown(flat, 3)}) are not issue types` };
  }
}

export { shown as sampleText };
