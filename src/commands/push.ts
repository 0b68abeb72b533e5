// `pmsync push [NAME…] [--dry-run] [--force]`: sends the outbox, connection by connection
// (src/core/push.ts). Exit 5 when conflicts held changes back, 3 when some changes failed and
// others went through (the failed ones stay queued), 1 when nothing could be pushed.

import type { AppContext, HttpSettings } from "../cli/context.js";
import { newUsage } from "../cli/context.js";
import { Outbox, showValue } from "../core/outbox.js";
import { emptyPushSummary, pushConnection, type PushSummary } from "../core/push.js";
import { ConflictError, errorMessage, ExitCode, ExitWithCode, exitCodeOf } from "../errors.js";
import { providerModule } from "../providers/registry.js";
import { SyncStore } from "../store/sync-store.js";
import { reportRunError } from "./sync.js";

export interface PushOptions {
  names: string[];
  dryRun: boolean;
  force: boolean;
  http?: Partial<HttpSettings>;
}

export async function push(ctx: AppContext, opts: PushOptions): Promise<void> {
  for (const n of opts.names) ctx.connection(n);
  const store = await ctx.store();
  const outbox = new Outbox(store.sqlite);
  const sstore = new SyncStore(store);
  const all = outbox.list(opts.names);
  const names = [...new Set(all.map((c) => c.connection))];
  const runs: PushSummary[] = [];
  const codes: number[] = [];
  for (const name of names) {
    const conn = ctx.connection(name);
    const usage = newUsage();
    let outcome: { summary: PushSummary; error?: unknown };
    try {
      const { secret } = await ctx.secretFor(name, conn);
      const http = ctx.http(name, conn, secret, usage, opts.http);
      const provider = providerModule(conn.provider).create({ connectionName: name, config: conn, secret, http });
      outcome = await pushConnection(sstore, outbox, { name, providerName: conn.provider, provider, usage, entries: all.filter((c) => c.connection === name) }, opts);
    } catch (err) {
      outcome = { summary: emptyPushSummary(name, conn.provider, "failed", errorMessage(err)), error: err };
    }
    runs.push(outcome.summary);
    if (outcome.error !== undefined) {
      codes.push(exitCodeOf(outcome.error));
      reportRunError(ctx, name, outcome.summary.error, outcome.error);
    }
    if (!ctx.io.json) print(ctx, outcome.summary, opts.dryRun);
  }

  const changes = runs.flatMap((r) => r.changes);
  const conflicts = changes.filter((c) => c.result === "conflict").length;
  const failed = changes.filter((c) => c.result === "failed").length;
  const succeeded = changes.filter((c) => c.result === "written" || c.result === "already" || c.result === "would_write").length;
  const broken = runs.filter((r) => r.status === "failed" || r.status === "locked").length;
  const status = broken === 0 && failed === 0 && conflicts === 0 ? "ok" : succeeded > 0 || broken < runs.length ? "partial" : "failed";
  if (ctx.io.json) ctx.io.printJson({ status, dry_run: opts.dryRun, runs });
  else if (!names.length) ctx.io.info("Nothing to push. `pmsync edit` or `pmsync import` queue changes.");

  if (conflicts) {
    throw new ConflictError(`${conflicts} change(s) not pushed: the tracker changed the same field since your edit`, {
      hint: "`pmsync pending` shows base / local / remote; `pmsync push --force` overwrites, `pmsync discard KEY` keeps the tracker's value",
    });
  }
  if (failed || broken) {
    const unique = [...new Set(codes)];
    if (succeeded === 0 && unique.length === 1) throw new ExitWithCode(unique[0] as (typeof ExitCode)[keyof typeof ExitCode]);
    throw new ExitWithCode(succeeded > 0 ? ExitCode.partial : ExitCode.failure);
  }
}

function print(ctx: AppContext, r: PushSummary, dryRun: boolean): void {
  if (ctx.io.flags.quiet) return;
  for (const c of r.changes) {
    const change = `${showValue(c.base)} → ${showValue(c.local)}`;
    switch (c.result) {
      case "written":
        ctx.io.out(`${c.key} ${c.field}: ${ctx.io.paint("green", "pushed")} (${change})`);
        break;
      case "already":
        ctx.io.out(`${c.key} ${c.field}: already in the tracker`);
        break;
      case "would_write":
        ctx.io.out(`${c.key} ${c.field}: would push ${change}`);
        break;
      case "conflict":
        ctx.io.out(`${c.key} ${c.field}: ${ctx.io.paint("yellow", "CONFLICT")}: base ${showValue(c.base)}, local ${showValue(c.local)}, tracker now ${showValue(c.remote)}`);
        break;
      case "failed":
        ctx.io.out(`${c.key} ${c.field}: ${ctx.io.paint("red", "failed")}: ${c.error}`);
        break;
    }
  }
  if (r.status !== "locked" && r.changes.length) {
    ctx.io.info(`${r.connection}: ${dryRun ? "dry run, nothing sent; " : ""}${r.pushed} pushed, ${r.conflicts} conflict(s), ${r.failed} failed; ${r.requests} request(s), ${(r.duration_ms / 1000).toFixed(1)} s`);
  }
}
