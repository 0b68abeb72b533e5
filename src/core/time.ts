// Timestamps in the cache are ISO 8601 UTC with milliseconds (`2026-03-04T17:15:27.123Z`).

const JIRA_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?([+-])(\d{2}):?(\d{2})$/;

/** Parses a tracker timestamp such as Jira's `2026-03-04T09:15:27.123-0800`; null if absent or bad. */
export function parseRemoteTime(value: unknown): number | null {
  if (typeof value !== "string" || value === "") return null;
  // Fast path for the common `2026-03-04T09:15:27.123-0800` shape (one per field per issue).
  const m = JIRA_TIME.exec(value);
  if (m) {
    const utc = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? +m[7].padEnd(3, "0") : 0);
    const offset = (+m[9]! * 60 + +m[10]!) * 60_000;
    return m[8] === "+" ? utc - offset : utc + offset;
  }
  // Jira writes the offset without a colon (-0800), which Date.parse does not accept everywhere.
  const fixed = value.replace(/([+-]\d{2})(\d{2})$/, "$1:$2");
  const ms = Date.parse(fixed);
  return Number.isNaN(ms) ? null : ms;
}

export function toIso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function isoOrNull(value: unknown): string | null {
  return toIso(parseRemoteTime(value));
}

/** `--since 1d`, `--updated-since 2026-01-01` … → epoch ms. */
export function parseSince(value: string, now = Date.now()): number | null {
  const rel = /^(\d+)\s*(m|h|d|w)$/i.exec(value.trim());
  if (rel) {
    const n = Number(rel[1]);
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[rel[2]!.toLowerCase() as "m" | "h" | "d" | "w"];
    return now - n * unit;
  }
  const ms = parseRemoteTime(value.trim());
  return ms;
}
