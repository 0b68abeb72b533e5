// Time-zone arithmetic for the sandbox, built on Intl.DateTimeFormat only.
//
// Jira Cloud renders timestamps in the calling account's profile time zone
// (`2026-03-04T09:15:27.123-0800`) and reads JQL date literals in that zone too. Both need the
// zone's UTC offset at an instant; Intl gives wall-clock parts, from which the offset follows.
// Offsets are cached per 15-minute bucket: every modern zone changes offset on a quarter hour,
// so a bucket never straddles a transition.

const BUCKET_MS = 15 * 60_000;

export class ZoneClock {
  readonly timeZone: string;
  private readonly dtf: Intl.DateTimeFormat;
  private readonly offsets = new Map<number, number>();
  private readonly days = new Map<number, number | null>();
  private lastBucket = Number.NaN;
  private lastOffset = 0;

  constructor(timeZone: string) {
    // Throws RangeError for an unknown zone, which is what the caller should see.
    this.dtf = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    this.timeZone = this.dtf.resolvedOptions().timeZone;
  }

  /** UTC offset of the zone at `ms`, in minutes (e.g. -480 for PST). */
  offsetMinutes(ms: number): number {
    // Most UTC days have one offset all day: cache per day, and per 15 minutes only on the
    // days with a transition.
    const day = Math.floor(ms / 86_400_000);
    if (day === this.lastBucket) return this.lastOffset;
    let whole = this.days.get(day);
    if (whole === undefined) {
      const first = this.bucketOffset(day * 96);
      const last = this.bucketOffset(day * 96 + 95);
      whole = first === last ? first : null;
      if (this.days.size > 100_000) this.days.clear();
      this.days.set(day, whole);
    }
    if (whole !== null) {
      this.lastBucket = day;
      this.lastOffset = whole;
      return whole;
    }
    return this.bucketOffset(Math.floor(ms / BUCKET_MS));
  }

  private bucketOffset(bucket: number): number {
    return this.offsets.get(bucket) ?? this.computeOffset(bucket);
  }

  private computeOffset(bucket: number): number {
    const at = bucket * BUCKET_MS;
    const p: Record<string, number> = {};
    for (const part of this.dtf.formatToParts(new Date(at))) {
      if (part.type !== "literal") p[part.type] = Number(part.value);
    }
    const wall = Date.UTC(p["year"] ?? 1970, (p["month"] ?? 1) - 1, p["day"] ?? 1, p["hour"] ?? 0, p["minute"] ?? 0, p["second"] ?? 0);
    const offset = Math.round((wall - at) / 60_000);
    if (this.offsets.size > 200_000) this.offsets.clear();
    this.offsets.set(bucket, offset);
    return offset;
  }

  /** Jira's datetime format: `2026-03-04T09:15:27.123-0800`. */
  formatJira(ms: number): string {
    const off = this.offsetMinutes(ms);
    const d = new Date(ms + off * 60_000);
    const sign = off < 0 ? "-" : "+";
    const abs = Math.abs(off);
    return (
      d.getUTCFullYear() +
      "-" + pad2(d.getUTCMonth() + 1) +
      "-" + pad2(d.getUTCDate()) +
      "T" + pad2(d.getUTCHours()) +
      ":" + pad2(d.getUTCMinutes()) +
      ":" + pad2(d.getUTCSeconds()) +
      "." + pad3(d.getUTCMilliseconds()) +
      sign + pad2(Math.floor(abs / 60)) + pad2(abs % 60)
    );
  }

  /** The calendar date (`yyyy-MM-dd`) in the zone at `ms`. */
  formatDate(ms: number): string {
    const d = new Date(ms + this.offsetMinutes(ms) * 60_000);
    return d.getUTCFullYear() + "-" + pad2(d.getUTCMonth() + 1) + "-" + pad2(d.getUTCDate());
  }

  /** Wall-clock fields of `ms` in the zone. */
  wallParts(ms: number): { year: number; month: number; day: number; hour: number; minute: number } {
    const d = new Date(ms + this.offsetMinutes(ms) * 60_000);
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes() };
  }

  /**
   * The instant at which the zone's wall clock reads the given local time, resolved the way
   * java.time does (Jira is a Java application): in an overlap (clocks set back) the earlier
   * instant; in a gap (clocks set forward) the local time is pushed later by the gap's length.
   */
  localToEpoch(year: number, month: number, day: number, hour = 0, minute = 0): number {
    const wall = Date.UTC(year, month - 1, day, hour, minute);
    const before = this.offsetMinutes(wall - 86_400_000);
    const after = this.offsetMinutes(wall + 86_400_000);
    const candidates: number[] = [];
    for (const off of before === after ? [before] : [before, after]) {
      const t = wall - off * 60_000;
      if (this.offsetMinutes(t) === off) candidates.push(t);
    }
    if (candidates.length === 0) {
      // Gap: java.time shifts forward by the gap, i.e. keeps the offset from before it.
      return wall - before * 60_000;
    }
    return Math.min(...candidates);
  }
}

/** ISO 8601 in UTC with milliseconds (`2026-02-02T08:00:00.000Z`), as Jira's sprint field uses. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}

export function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

function pad3(n: number): string {
  return n < 10 ? "00" + n : n < 100 ? "0" + n : String(n);
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
