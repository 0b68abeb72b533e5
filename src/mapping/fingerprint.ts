// Schema fingerprints: what a decision was made about. A field keeps its fingerprint while its
// name, type and schema type stay the same; a rename or a retype changes it, and pmsync asks again.

import { sha256Hex } from "../core/hash.js";
import { schemaKind, type SourceField } from "./scorer.js";

const short = (parts: unknown[]) => sha256Hex(JSON.stringify(parts)).slice(0, 16);

export function fieldFingerprint(f: SourceField): string {
  return short(["field", f.name, f.type, f.custom, schemaKind(f) ?? null]);
}

/** A status: its name and the provider's coarse verdict (open/closed, or its category). */
export function statusFingerprint(name: string, verdict: string): string {
  return short(["status", name, verdict]);
}

/** The applied mapping set of a connection: when it changes, every cached issue is re-derived. */
export function appliedFingerprint(rows: readonly { source_id: string; target: string | null }[]): string {
  return short(["applied", ...rows.map((r) => [r.source_id, r.target]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0))]);
}
