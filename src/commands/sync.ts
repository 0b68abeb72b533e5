// `pmsync sync [NAME…]`: pulls each selected connection in turn and prints one line (or the
// JSON run summary, SPEC §10) per connection. Exit codes: 0 all ok, 3 some failed, otherwise
// the failure's own code (4 auth, 75 locked, 1 other).

import type { AppContext, HttpSettings } from "../cli/context.js";
import { newUsage } from "../cli/context.js";
import { DEFAULT_OVERLAP_MS, emptySummary, syncConnection, type RunSummary, type SyncProgress } from "../core/engine.js";
import { inProcessPages, workerPages } from "../core/page-source.js";
import { splitPages } from "../core/split-source.js";
import { errorMessage, ExitCode, ExitWithCode, PmsyncError, UsageError, type ExitCodeValue, exitCodeOf } from "../errors.js";
import { providerModule } from "../providers/registry.js";
import { SyncStore } from "../store/sync-store.js";
import { DEFAULT_AUTO_DISABLE_AFTER, type ConnectionConfig } from "../config.js";

export interface SyncCommandOptions {
  names: string[];
  mode: "auto" | "full" | "incremental";
  projects: string[];
  dryRun: boolean;
  http?: Partial<HttpSettings>;
}

export interface SyncReport {
  status: "ok" | "partial" | "failed";
  runs: RunSummary[];
}

export async function sync(ctx: AppContext, opts: SyncCommandOptions): Promise<SyncReport> {
  const cfg = ctx.config();
  const names = opts.names.length ? opts.names : Object.keys(cfg.connections);
  if (!names.length) throw new UsageError("no connections yet", { hint: "create one with `pmsync login jira --site … --email … --token-stdin`" });
  for (const n of names) ctx.connection(n); // unknown names are a usage error before anything runs

  const store = new SyncStore(await ctx.store(), (line) => ctx.io.debug(line));
  const runs: RunSummary[] = [];
  const codes: ExitCodeValue[] = [];
  for (const name of names) {
    const conn = cfg.connections[name]!;
    if (!conn.enabled) {
      const run = emptySummary(name, conn.provider, "skipped", `disabled${conn.disabled_reason ? `: ${conn.disabled_reason}` : ""}; \`pmsync connections enable ${name}\` turns it back on`);
      runs.push(run);
      report(ctx, run);
      continue;
    }
    const usage = newUsage();
    let result: { summary: RunSummary; error?: unknown };
    const spinner = await startProgress(ctx, name);
    try {
      const { secret } = await ctx.secretFor(name, conn);
      const http = ctx.http(name, conn, secret, usage, opts.http);
      const provider = providerModule(conn.provider).create({ connectionName: name, config: conn, secret, http });
      // Parsing and hashing run on a worker thread, unless a test injected an HTTP dispatcher
      // (which cannot cross threads).
      const spec = { name, conn, secret, ...(opts.http ? { settings: opts.http } : {}), verbose: ctx.io.flags.verbose };
      const split = provider.split;
      const pages = ctx.dispatcher
        ? inProcessPages(provider)
        : split
          ? splitPages(provider, split, spec)
          : workerPages(spec, (line) => ctx.io.debug(line));
      result = await syncConnection(store, { name, config: conn, provider, pages, usage }, {
        mode: opts.mode,
        projects: opts.projects,
        dryRun: opts.dryRun,
        overlapMs: DEFAULT_OVERLAP_MS,
        onProgress: spinner?.update,
      });
    } catch (err) {
      // Failures before the engine ran (no credentials, bad settings).
      result = { summary: emptySummary(name, conn.provider, "failed", errorMessage(err)), error: err };
    } finally {
      spinner?.stop();
    }
    runs.push(result.summary);
    if (result.summary.status === "failed" && !opts.dryRun) await autoDisable(ctx, store, name, conn, result.summary);
    if (result.error !== undefined) {
      codes.push(exitCodeOf(result.error));
      reportRunError(ctx, name, result.summary.error, result.error);
    }
    report(ctx, result.summary);
    if (result.summary.status === "ok" && !opts.dryRun) await refreshMappingsAfter(ctx, name, conn.provider);
  }

  const failed = runs.filter((r) => r.status === "failed" || r.status === "locked").length;
  const ok = runs.filter((r) => r.status === "ok").length;
  const status: SyncReport["status"] = failed === 0 ? "ok" : ok > 0 ? "partial" : "failed";
  const result: SyncReport = { status, runs };
  if (ctx.io.json) ctx.io.printJson(result);
  if (status === "partial") throw new ExitWithCode(ExitCode.partial);
  if (status === "failed") {
    const unique = [...new Set(codes)];
    throw new ExitWithCode(unique.length === 1 ? unique[0]! : ExitCode.failure);
  }
  return result;
}

/**
 * A connection's failed run, on stderr: the message, the hint that fixes it, and with --verbose
 * the stack of an unexpected error. Also with --json: stdout stays one JSON document, and a log
 * still shows why. Used by sync and push.
 */
export function reportRunError(ctx: AppContext, name: string, message: string | null, err: unknown): void {
  ctx.io.error(`${name}: ${message ?? errorMessage(err)}`);
  const hint = err instanceof PmsyncError ? err.hint : undefined;
  if (hint) ctx.io.info(`  hint: ${hint}`);
  if (ctx.io.flags.verbose && !(err instanceof PmsyncError)) ctx.io.debug(String((err as Error).stack));
}

/**
 * Scores fields and statuses that are new or changed (decisions are kept) and re-derives the
 * mapped columns of the issues this sync wrote, from their stored payloads (issue 5). A failure
 * here is reported, but does not turn a good pull into a failed sync.
 */
async function refreshMappingsAfter(ctx: AppContext, name: string, provider: string): Promise<void> {
  try {
    const [{ refreshMappings }, { reviewCount }] = await Promise.all([import("../mapping/refresh.js"), import("../mapping/store.js")]);
    const store = await ctx.store();
    const { added, rescored } = refreshMappings(store, name, provider);
    const waiting = added || rescored ? reviewCount(store.sqlite, name) : 0;
    if (waiting && !ctx.io.json) ctx.io.info(`${name}: ${waiting} field mapping(s) to review: \`pmsync mappings review ${name}\``);
  } catch (err) {
    ctx.io.warn(`${name}: field mappings not refreshed: ${errorMessage(err)}`);
  }
}

/**
 * Counts a failed run (the engine counts its own; failures before it ran, such as missing
 * credentials, are counted here) and disables the connection after N in a row, so a broken
 * connection stops using API budget and `status` says why (SPEC §5.3).
 */
async function autoDisable(ctx: AppContext, store: SyncStore, name: string, conn: ConnectionConfig, run: RunSummary): Promise<void> {
  if (run.mode === null) {
    store.upsertConnection(name, conn.provider, conn.site);
    store.recordOutcome(name, false, null);
  }
  const limit = conn.auto_disable_after ?? DEFAULT_AUTO_DISABLE_AFTER;
  const failures = store.state(name)?.consecutive_failures ?? 0;
  if (limit <= 0 || failures < limit) return;
  const reason = `${failures} failed syncs in a row (last: ${run.error ?? "unknown error"}) at ${new Date().toISOString()}`;
  const { updateEnabled } = await import("./connections.js");
  await updateEnabled(ctx, name, false, reason);
  // An error line, so a `--quiet` cron log shows it too.
  ctx.io.error(`${name}: disabled after ${failures} failed syncs in a row; \`pmsync connections enable ${name}\` turns it back on`);
}

function report(ctx: AppContext, r: RunSummary): void {
  if (ctx.io.json || ctx.io.flags.quiet) return;
  if (r.status === "skipped") {
    ctx.io.out(`${r.connection}: skipped (${r.error})`);
    return;
  }
  const counts = `pulled ${r.pulled}, created ${r.created}, updated ${r.updated}, unchanged ${r.unchanged}, deleted ${r.deleted}`;
  const tail = `${r.requests} request${r.requests === 1 ? "" : "s"}${r.retries ? ` (${r.retries} retried)` : ""}, ${(r.duration_ms / 1000).toFixed(1)} s`;
  const word = r.status === "ok" ? ctx.io.paint("green", "ok") : ctx.io.paint("red", r.status);
  ctx.io.out(`${r.connection}: ${r.mode ?? "sync"} ${word}: ${counts}; ${tail}${r.cursor ? `; cursor ${r.cursor}` : ""}`);
}

async function startProgress(ctx: AppContext, name: string) {
  if (!ctx.io.showProgress()) return null;
  const { default: ora } = await import("ora");
  const started = Date.now();
  const spinner = ora({ text: `${name}: starting…`, stream: ctx.io.stderr as NodeJS.WritableStream, color: "cyan" }).start();
  return {
    update: (p: SyncProgress) => {
      const secs = (Date.now() - started) / 1000;
      const rate = secs > 0 ? Math.round(p.issues / secs) : 0;
      spinner.text = `${name}: ${p.pages} pages, ${p.issues} issues (${rate}/s)${p.retries ? `, ${p.retries} retries` : ""}`;
    },
    stop: () => spinner.stop(),
  };
}
