// The scorer: pure and deterministic. For each source field it scores every unified target from
// named signals (schema type, name with synonyms, type compatibility, values seen in the cache,
// duplicate names, legacy markers, competition with other fields) and keeps the reasons; the best
// target's confidence picks the band. Statuses are scored against the status categories the same
// way, and a provider's own category wins with 1.0.
//
// How the signals combine (confidence 0.0–1.0):
//   - a schema type that states the meaning (jsw-story-points, gh-sprint, Epic Link …): its own
//     confidence (0.96–1.0); duplicate names do not lower it;
//   - a number field named exactly "Story Points" / "Story point estimate": 0.97 (the classic field);
//   - otherwise 0.75 × name score + type (+0.10 fits) + values (−0.40 … +0.15): auto (≥ 0.95) needs
//     an exact name, a fitting type and values that confirm it, all three;
//   - a type that cannot hold the target caps it at 0.30; a target the provider already fills from
//     its own field caps a name-based guess at 0.79 (never applied without the user: it would
//     override the tracker's own field); a legacy name ("(old)", "DO NOT USE") −0.20; a duplicate
//     name −0.12 and at most 0.94, unless every field of that name holds values confirming the
//     same target (they then feed it together); several fields competing for one target −0.10;
//   - `custom.<slug>` (keep the field as its own export column) is offered at 0.05–0.60 by how much
//     the field is used: it is never applied without the user.

import type { StatusCategory } from "../providers/provider.js";
import { bestPhrase, meaningfulName, nameKey, nameSignal, sampleText, typeSignal, valueSignal } from "./signals.js";
import { INTERNAL_SCHEMAS, SCHEMA_TARGETS, STATUS_SYNONYMS } from "./synonyms.js";
import { band, CUSTOM_PREFIX, customSlugs, FIELD_TARGETS, STATUS_TARGETS, SUGGEST_AT, type ScoredState, type UnifiedTarget } from "./targets.js";

export interface SourceField {
  id: string;
  name: string;
  /** Readable type: `number`, `array<json>`, `option`, `user` … */
  type: string;
  custom: boolean;
  /** The provider's own schema (Jira `schema`, Redmine custom field definition). */
  schema: unknown;
}

export interface Candidate {
  target: string;
  confidence: number;
  reasons: string[];
}

export interface Scored {
  source_id: string;
  source_name: string;
  source_type: string;
  state: ScoredState;
  target: string | null;
  confidence: number;
  reasons: string[];
  candidates: Candidate[];
}

export interface FieldScoreContext {
  /** For reasons: "Jira", "Redmine". */
  providerLabel: string;
  /** Every field of the catalog, also those not scored (duplicate names count across all). */
  catalog: readonly SourceField[];
  /** Targets the provider fills from its own fields: a name-based guess stays below auto there. */
  native: ReadonlySet<UnifiedTarget>;
  /** Non-null values per field id, one per sampled issue that had one. */
  samples: ReadonlyMap<string, readonly unknown[]>;
  /** How many issues were sampled (0: nothing in the cache yet). */
  sampled: number;
}

const round = (n: number) => Math.round(Math.min(1, Math.max(0, n)) * 100) / 100;
const MIN_CANDIDATE = 0.15;
/** Share of sampled issues with a value from which a field counts as in use (and is asked about). */
const IN_USE = 0.1;
const DUPLICATE_PENALTY = 0.12;
const DUPLICATE_CAP = 0.94;
const NATIVE_CAP = 0.79;
const LEGACY_PENALTY = 0.2;
const COMPETITION_PENALTY = 0.1;
const STORY_POINT_NAMES = new Set(["story point", "story point estimate", "storypoint"]);

/** The provider's schema type name (Jira `schema.custom`, Redmine `field_format`). */
export function schemaKind(f: Pick<SourceField, "schema">): string | undefined {
  const s = f.schema as { custom?: unknown; field_format?: unknown } | null;
  if (s && typeof s.custom === "string") return s.custom;
  if (s && typeof s.field_format === "string") return `redmine:${s.field_format}`;
  return undefined;
}

interface Working extends Candidate {
  /** From the schema or the classic-field pattern: exempt from the competition penalty. */
  certain: boolean;
  /** The values seen confirm the target. */
  confirmed: boolean;
  /** The confidence before the duplicate-name penalty, when it was applied. */
  beforeDuplicate: number | null;
}

function scoreTarget(f: SourceField, t: UnifiedTarget, ctx: FieldScoreContext, dupes: number): Working | null {
  const kind = schemaKind(f);
  const schema = kind ? SCHEMA_TARGETS[kind] : undefined;
  if (schema?.target === t) {
    const reasons = [schema.why];
    let confidence = schema.confidence;
    const twins = ctx.catalog.filter((o) => o.id !== f.id && schemaKind(o) === kind && nameKey(o.name) === nameKey(f.name)).length;
    if (twins > 0) {
      confidence = Math.min(DUPLICATE_CAP, confidence - DUPLICATE_PENALTY);
      reasons.push(`${twins + 1} fields of this type share the name "${nameKey(f.name)}" (−${DUPLICATE_PENALTY})`);
    }
    return { target: t, confidence: round(confidence), reasons, certain: true, confirmed: false, beforeDuplicate: null };
  }
  const name = nameSignal(t, f.name);
  if (!name) return null;
  const reasons = [name.reason];
  const type = typeSignal(t, f.type);
  const values = ctx.samples.get(f.id) ?? [];
  const valueSig = valueSignal(t, values);
  let confidence: number;
  let certain = false;
  if (type.fit === "cannot") {
    reasons.push(type.reason);
    confidence = Math.min(0.3, 0.75 * name.score);
  } else if (t === "story_points" && type.fit === "fits" && STORY_POINT_NAMES.has(meaningfulName(f.name).tokens.join(" "))) {
    reasons.push(`a number field named "${f.name}": the classic story point field`);
    confidence = 0.97;
    certain = true;
    if (valueSig) reasons.push(valueSig.reason);
    if (valueSig && valueSig.delta < 0) confidence += valueSig.delta;
  } else {
    reasons.push(type.reason);
    confidence = 0.75 * name.score + type.delta;
    if (valueSig) {
      reasons.push(`${valueSig.reason} (${valueSig.delta >= 0 ? "+" : "−"}${Math.abs(valueSig.delta).toFixed(2)})`);
      confidence += valueSig.delta;
    } else reasons.push(ctx.sampled ? "no values on the sampled issues" : "no issues in the cache yet");
    if (ctx.native.has(t) && confidence > NATIVE_CAP) {
      confidence = NATIVE_CAP;
      reasons.push(`${ctx.providerLabel} fills ${t} from its own field: only you can let this field override it (at most ${NATIVE_CAP})`);
    }
  }
  if (meaningfulName(f.name).legacy) {
    confidence -= LEGACY_PENALTY;
    reasons.push(`the name marks it as legacy (−${LEGACY_PENALTY})`);
  }
  let beforeDuplicate: number | null = null;
  if (dupes > 1) {
    beforeDuplicate = confidence;
    confidence = Math.min(DUPLICATE_CAP, confidence - DUPLICATE_PENALTY);
    reasons.push(`${dupes} fields share the name "${nameKey(f.name)}" (−${DUPLICATE_PENALTY})`);
  }
  const confirmed = type.fit === "fits" && (valueSig?.delta ?? 0) > 0;
  return { target: t, confidence: round(confidence), reasons, certain, confirmed, beforeDuplicate };
}

function customCandidate(f: SourceField, slug: string, ctx: FieldScoreContext): Candidate {
  const target = `${CUSTOM_PREFIX}${slug}`;
  const kind = schemaKind(f);
  if (kind && INTERNAL_SCHEMAS.some((re) => re.test(kind))) {
    return { target, confidence: 0.05, reasons: [`holds ${ctx.providerLabel} machinery (${kind}), not issue content`] };
  }
  const values = ctx.samples.get(f.id) ?? [];
  if (!ctx.sampled) return { target, confidence: 0.3, reasons: ["keep as its own column; no issues in the cache yet"] };
  const pct = Math.round((100 * values.length) / ctx.sampled);
  const eg = values.length ? ` (e.g. ${sampleText(values, 3)})` : "";
  if (values.length / ctx.sampled >= IN_USE) return { target, confidence: 0.6, reasons: [`in use: values on ${pct}% of ${ctx.sampled} sampled issues${eg}; no unified column fits better`] };
  if (values.length) return { target, confidence: 0.4, reasons: [`rarely used: values on ${values.length} of ${ctx.sampled} sampled issues${eg}`] };
  return { target, confidence: 0.2, reasons: [`no values on the ${ctx.sampled} sampled issues`] };
}

function order(a: Candidate, b: Candidate): number {
  return b.confidence - a.confidence || (a.target < b.target ? -1 : a.target > b.target ? 1 : 0);
}

/** Scores `fields` (a subset of `ctx.catalog`, or all of it). */
export function scoreFields(fields: readonly SourceField[], ctx: FieldScoreContext): Scored[] {
  const names = new Map<string, number>();
  for (const f of ctx.catalog) {
    const k = nameKey(f.name);
    if (k) names.set(k, (names.get(k) ?? 0) + 1);
  }
  const known = new Set(ctx.catalog.map((c) => c.id));
  const slugs = customSlugs([...ctx.catalog, ...fields.filter((f) => !known.has(f.id))]);

  // Pass 1: each field on its own. Competition needs every field's result, so it is pass 2.
  const scored = fields.map((f) => {
    const dupes = names.get(nameKey(f.name)) ?? 0;
    const unified = FIELD_TARGETS.map((t) => scoreTarget(f, t, ctx, dupes)).filter((c): c is Working => c !== null && c.confidence >= MIN_CANDIDATE);
    return { f, unified };
  });
  const contenders = new Map<string, { id: string; name: string }[]>();
  for (const { f, unified } of scored) {
    for (const c of unified) if (c.confidence >= SUGGEST_AT) contenders.set(c.target, [...(contenders.get(c.target) ?? []), { id: f.id, name: f.name }]);
  }

  // A duplicate name is no ambiguity when every field of that name is scored here and its values
  // confirm the same target: they feed it together (a "Story Points" field per project).
  const byName = new Map<string, { f: SourceField; unified: Working[] }[]>();
  for (const s of scored) byName.set(nameKey(s.f.name), [...(byName.get(nameKey(s.f.name)) ?? []), s]);
  for (const { f, unified } of scored) {
    const twins = byName.get(nameKey(f.name)) ?? [];
    for (const c of unified) {
      if (c.beforeDuplicate === null || twins.length !== (names.get(nameKey(f.name)) ?? 0)) continue;
      if (!twins.every((tw) => tw.unified.some((o) => o.target === c.target && o.confirmed))) continue;
      c.confidence = round(c.beforeDuplicate);
      c.reasons = c.reasons.filter((r) => !r.includes(" fields share the name "));
      c.reasons.push(`all ${twins.length} fields named "${nameKey(f.name)}" hold values that confirm ${c.target}: they feed it together`);
    }
  }

  return scored.map(({ f, unified }) => {
    for (const c of unified) {
      const rivals = (contenders.get(c.target) ?? []).filter((o) => o.id !== f.id);
      if (c.certain || c.confidence < SUGGEST_AT || !rivals.length) continue;
      c.confidence = round(c.confidence - COMPETITION_PENALTY);
      c.reasons.push(`${rivals.length + 1} fields could feed ${c.target} (also ${rivals.slice(0, 2).map((r) => `"${r.name}" ${r.id}`).join(", ")}) (−${COMPETITION_PENALTY})`);
    }
    const best = [...unified].sort(order)[0];
    const candidates: Candidate[] = [...unified.map(({ target, confidence, reasons }) => ({ target, confidence, reasons })), customCandidate(f, slugs.get(f.id) ?? f.id, ctx)].sort(order);
    return decide(f.id, f.name, f.type, best ?? null, candidates);
  });
}

function decide(id: string, name: string, type: string, best: Candidate | null, candidates: Candidate[]): Scored {
  const state = best ? band(best.confidence) : "unmapped";
  const top = state === "unmapped" ? candidates[0] : best!;
  return {
    source_id: id,
    source_name: name,
    source_type: type,
    state,
    target: state === "unmapped" ? null : best!.target,
    confidence: top?.confidence ?? 0,
    reasons: top ? [...top.reasons] : ["no candidate target"],
    candidates: candidates.slice(0, 5),
  };
}

// ---- statuses --------------------------------------------------------------------------------

/**
 * What a provider says about its statuses' categories: `full` (Jira's status categories, Linear's
 * state types, GitHub's open/closed with a reason: the provider's category wins), `closed-only`
 * (Redmine's `is_closed`: closed or open, the name says which), `none`.
 */
export type CategoryAuthority = "full" | "closed-only" | "none";

export interface StatusEvidence {
  name: string;
  /** The categories the provider gave issues in this status, with how many issues. */
  categories: ReadonlyMap<StatusCategory, number>;
}

const CLOSED: ReadonlySet<StatusCategory> = new Set(["done", "cancelled"]);

/** The provider's category for a status: the most frequent; done over cancelled (a resolution decides cancelled). */
export function providerCategory(ev: StatusEvidence): StatusCategory | null {
  let top: StatusCategory | null = null;
  for (const c of STATUS_TARGETS) {
    const n = ev.categories.get(c) ?? 0;
    if (n > 0 && (top === null || n > (ev.categories.get(top) ?? 0))) top = c;
  }
  if (top === "cancelled" && (ev.categories.get("done") ?? 0) > 0) return "done";
  return top;
}

/** What the status fingerprint records: the provider's coarse verdict (a move between them re-asks). */
export function statusVerdict(ev: StatusEvidence, authority: CategoryAuthority): string {
  const cat = providerCategory(ev);
  if (authority === "none" || cat === null) return "";
  if (authority === "closed-only") return CLOSED.has(cat) ? "closed" : "open";
  return CLOSED.has(cat) ? "closed" : cat;
}

export function scoreStatus(ev: StatusEvidence, authority: CategoryAuthority, providerLabel: string): Scored {
  const id = `status:${ev.name}`;
  const own = providerCategory(ev);
  const { tokens } = meaningfulName(ev.name);
  const byName = STATUS_TARGETS.map((c) => ({ c, m: bestPhrase(tokens, STATUS_SYNONYMS[c]) }));
  const candidates: Candidate[] = [];
  if (authority === "full" && own) {
    const total = [...ev.categories.values()].reduce((a, b) => a + b, 0);
    const reasons = [`${providerLabel}'s own category for "${ev.name}", as pmsync reads it: ${own} (${total} issue${total === 1 ? "" : "s"})`];
    if (own === "done" && (ev.categories.get("cancelled") ?? 0) > 0) reasons.push("issues resolved as Won't Do, Duplicate … count as cancelled");
    candidates.push({ target: own, confidence: 1, reasons });
  }
  const closed = own === null ? null : CLOSED.has(own);
  for (const { c, m } of byName) {
    if (!m || candidates.some((x) => x.target === c)) continue;
    let confidence = 0.9 * m.score;
    const reasons = [`name "${ev.name}" ${m.exact ? "reads as" : "contains"} "${m.phrase}"`];
    if (authority === "closed-only" && closed !== null) {
      if (closed === CLOSED.has(c)) {
        confidence += 0.07;
        reasons.push(`${providerLabel} marks it ${closed ? "closed" : "open"}, which agrees (+0.07)`);
      } else {
        confidence = Math.min(confidence, 0.6);
        reasons.push(`but ${providerLabel} marks it ${closed ? "closed" : "open"}: at most 0.60`);
      }
    } else if (authority === "full" && own) {
      confidence = Math.min(confidence, 0.6);
      reasons.push(`but ${providerLabel}'s own category is ${own}`);
    }
    candidates.push({ target: c, confidence: round(confidence), reasons });
  }
  if (authority === "closed-only" && own !== null && !candidates.some((c) => c.confidence >= 0.6 && CLOSED.has(c.target as StatusCategory) === closed)) {
    // The name says nothing useful: the provider's own reading of open/closed is the best guess.
    const reasons = [`${providerLabel} marks it ${closed ? "closed" : "open"}; pmsync's default for that is ${own}`];
    const existing = candidates.find((c) => c.target === own);
    if (existing) existing.confidence = Math.max(existing.confidence, closed ? 0.85 : 0.7);
    else candidates.push({ target: own, confidence: closed ? 0.85 : 0.7, reasons });
  }
  candidates.sort(order);
  const best = candidates[0] ?? null;
  return decide(id, ev.name, "status", best, candidates);
}
