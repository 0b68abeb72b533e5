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
    this.absorb([
      {
        day: iso.slice(0, 10),
        endpoint: o.endpoint,
        status: o.status,
        requests: 1,
        errors: o.error ? 1 : 0,
        retries: o.retry ? 1 : 0,
        rate_limit_waits: o.rateLimitWait ? 1 : 0,
        wait_ms: Math.round(o.waitMs),
        bytes_in: o.bytesIn,
        bytes_out: o.bytesOut,
        rate_limit: o.rateLimit,
        rate_remaining: o.rateRemaining,
        rate_reset: o.rateReset,
        last_seen_at: iso,
      },
    ]);
  }

  /** Adds counts: one request's (record), or a batch gathered by the pull worker's recorder. */
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
