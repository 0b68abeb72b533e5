// `pmsync usage [NAME…] [--days N]`: per connection per UTC day, the API requests made and what
// the sync runs did with them.

import type { AppContext } from "../cli/context.js";
import { printTable } from "../cli/table.js";
import { UsageError } from "../errors.js";

export interface UsageDay {
  day: string;
  requests: number;
  /** 304 Not Modified answers to conditional requests: they cost no rate-limit budget (GitHub). */
  not_modified: number;
  errors: number;
  retries: number;
  rate_limit_waits: number;
  wait_ms: number;
  bytes_in: number;
  bytes_out: number;
  runs: number;
  successful_runs: number;
  success_rate: number | null;
  pulled: number;
  changed: number;
  pushed: number;
  rate_limit: number | null;
  rate_remaining: number | null;
  rate_reset: string | null;
}

export async function usage(ctx: AppContext, names: string[], days: number): Promise<{ connection: string; days: UsageDay[] }[]> {
  if (!Number.isInteger(days) || days < 1) throw new UsageError("--days takes a whole number of days, at least 1");
  const cfg = ctx.config();
  const selected = names.length ? names : Object.keys(cfg.connections);
  for (const n of selected) ctx.connection(n);
  const { sqlite } = await ctx.store();
  const since = new Date(Date.now() - (days - 1) * 86_400_000).toISOString().slice(0, 10);
  const result = selected.map((connection) => {
    const reqs = sqlite
      .prepare(
        `SELECT day, sum(requests) AS requests, sum(CASE WHEN status = 304 THEN requests ELSE 0 END) AS not_modified, sum(errors) AS errors, sum(retries) AS retries, sum(rate_limit_waits) AS rate_limit_waits,
                sum(wait_ms) AS wait_ms, sum(bytes_in) AS bytes_in, sum(bytes_out) AS bytes_out
         FROM api_usage WHERE connection = ? AND day >= ? GROUP BY day`,
      )
      .all(connection, since) as Omit<UsageDay, "runs">[];
    const runs = sqlite
      .prepare(
        `SELECT substr(started_at, 1, 10) AS day, count(*) AS runs, sum(status = 'ok') AS ok, sum(pulled) AS pulled,
                sum(created + updated + deleted) AS changed, sum(pushed) AS pushed
         FROM sync_runs WHERE connection = ? AND started_at >= ? AND status != 'running' GROUP BY 1`,
      )
      .all(connection, since) as { day: string; runs: number; ok: number; pulled: number; changed: number; pushed: number }[];
    const budget = (day: string) =>
      sqlite
        .prepare("SELECT rate_limit, rate_remaining, rate_reset FROM api_usage WHERE connection = ? AND day = ? AND rate_remaining IS NOT NULL ORDER BY last_seen_at DESC LIMIT 1")
        .get(connection, day) as { rate_limit: number | null; rate_remaining: number | null; rate_reset: string | null } | undefined;
    const dayset = [...new Set([...reqs.map((r) => r.day), ...runs.map((r) => r.day)])].sort();
    return {
      connection,
      days: dayset.map((day): UsageDay => {
        const r = reqs.find((x) => x.day === day);
        const s = runs.find((x) => x.day === day);
        const b = budget(day);
        return {
          day,
          requests: r?.requests ?? 0,
          not_modified: r?.not_modified ?? 0,
          errors: r?.errors ?? 0,
          retries: r?.retries ?? 0,
          rate_limit_waits: r?.rate_limit_waits ?? 0,
          wait_ms: r?.wait_ms ?? 0,
          bytes_in: r?.bytes_in ?? 0,
          bytes_out: r?.bytes_out ?? 0,
          runs: s?.runs ?? 0,
          successful_runs: s?.ok ?? 0,
          success_rate: s?.runs ? s.ok / s.runs : null,
          pulled: s?.pulled ?? 0,
          changed: s?.changed ?? 0,
          pushed: s?.pushed ?? 0,
          rate_limit: b?.rate_limit ?? null,
          rate_remaining: b?.rate_remaining ?? null,
          rate_reset: b?.rate_reset ?? null,
        };
      }),
    };
  });
  if (ctx.io.json) {
    ctx.io.printJson({ connections: result });
    return result;
  }
  const rows = result.flatMap((c) =>
    c.days.map((d) => [
      c.connection,
      d.day,
      d.requests,
      d.not_modified,
      d.errors,
      d.retries,
      d.rate_limit_waits,
      mb(d.bytes_in),
      d.runs,
      d.success_rate === null ? "" : `${Math.round(d.success_rate * 100)}%`,
      d.pulled,
      d.changed,
      d.pushed,
      d.rate_remaining === null ? "" : `${d.rate_remaining}${d.rate_limit !== null ? `/${d.rate_limit}` : ""}`,
    ]),
  );
  await printTable(ctx.io, ["connection", "day", "requests", "free_304", "errors", "retries", "rl_waits", "MB_in", "runs", "ok", "pulled", "changed", "pushed", "budget"], rows);
  return result;
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(2);
}
