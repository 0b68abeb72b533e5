// The change-log entries for members of a stored payload that no unified column shows (Jira's
// fixVersions, GitHub's milestone, …): each changed member as canonical JSON text, old → new.

import { canonicalJson } from "../core/hash.js";
import type { FieldChange } from "./provider.js";

export function memberChanges(
  oldMembers: unknown,
  newMembers: unknown,
  covered: ReadonlySet<string>,
  ignoredKeys: ReadonlySet<string> = new Set(),
): FieldChange[] {
  const a = (oldMembers ?? {}) as Record<string, unknown>;
  const b = (newMembers ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (v === undefined || v === null ? null : canonicalJson(v, ignoredKeys));
  const out: FieldChange[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (covered.has(k) || ignoredKeys.has(k)) continue;
    const oldText = text(a[k]);
    const newText = text(b[k]);
    if (oldText !== newText) out.push({ field: k, old: oldText, new: newText });
  }
  return out;
}
