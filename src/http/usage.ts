// Counts every request a command makes, per UTC day, endpoint class and status, in memory;
// the store flushes the counts into `api_usage` (in the same transaction as each sync page).

export interface UsageDelta {
  day: string;
  endpoint: string;
  /** HTTP status, or 0 for a request that got no response (network error, timeout). */
  status: number;
  requests: number;
  errors: number;
  retries: number;
  rate_limit_waits: number;
  wait_ms: number;
  bytes_in: number;
  bytes_out: number;
  rate_limit: number | null;
  rate_remaining: number | null;
  rate_reset: string | null;
  last_seen_at: string;
}

export interface RequestOutcome {
  at: Date;
  endpoint: string;
  status: number;
  error: boolean;
  retry: boolean;
  rateLimitWait: boolean;
  waitMs: number;
  bytesIn: number;
  bytesOut: number;
  rateLimit: number | null;
  rateRemaining: number | null;
  rateReset: string | null;
}

export class UsageRecorder {
  private pending = new Map<string, UsageDelta>();
  /** Totals for the run summary. */
  requests = 0;
  retries = 0;
  rateLimitWaits = 0;

  record(o: RequestOutcome): void {
    const iso = o.at.toISOString();
    const day = iso.slice(0, 10);
    const k = `${day}\u0000${o.endpoint}\u0000${o.status}`;
    let d = this.pending.get(k);
    if (!d) {
      d = {
        day,
        endpoint: o.endpoint,
        status: o.status,
        requests: 0,
        errors: 0,
        retries: 0,
        rate_limit_waits: 0,
        wait_ms: 0,
        bytes_in: 0,
        bytes_out: 0,
        rate_limit: null,
        rate_remaining: null,
        rate_reset: null,
        last_seen_at: iso,
      };
      this.pending.set(k, d);
    }
    d.requests++;
    if (o.error) d.errors++;
    if (o.retry) d.retries++;
    if (o.rateLimitWait) d.rate_limit_waits++;
    d.wait_ms += Math.round(o.waitMs);
    d.bytes_in += o.bytesIn;
    d.bytes_out += o.bytesOut;
    if (o.rateLimit !== null) d.rate_limit = o.rateLimit;
    if (o.rateRemaining !== null) d.rate_remaining = o.rateRemaining;
    if (o.rateReset !== null) d.rate_reset = o.rateReset;
    d.last_seen_at = iso;
    this.requests++;
    if (o.retry) this.retries++;
    if (o.rateLimitWait) this.rateLimitWaits++;
  }

  /** Adds counts gathered elsewhere (the pull worker's recorder). */
  absorb(deltas: UsageDelta[]): void {
    for (const d of deltas) {
      const k = `${d.day}\u0000${d.endpoint}\u0000${d.status}`;
      const mine = this.pending.get(k);
      if (!mine) this.pending.set(k, { ...d });
      else {
        mine.requests += d.requests;
        mine.errors += d.errors;
        mine.retries += d.retries;
        mine.rate_limit_waits += d.rate_limit_waits;
        mine.wait_ms += d.wait_ms;
        mine.bytes_in += d.bytes_in;
        mine.bytes_out += d.bytes_out;
        mine.rate_limit = d.rate_limit ?? mine.rate_limit;
        mine.rate_remaining = d.rate_remaining ?? mine.rate_remaining;
        mine.rate_reset = d.rate_reset ?? mine.rate_reset;
        mine.last_seen_at = d.last_seen_at;
      }
      this.requests += d.requests;
      this.retries += d.retries;
      this.rateLimitWaits += d.rate_limit_waits;
    }
  }

  /** Takes the counts gathered since the last drain. */
  drain(): UsageDelta[] {
    const out = [...this.pending.values()];
    this.pending.clear();
    return out;
  }
}
