// `pmsync status [NAME…]`: per connection, who is logged in, the last sync, the cursor, issues by
// status category, pending changes and a staleness warning. Exit 3 when a connection is unhealthy.

import { envVarName } from "../auth/credentials.js";
import type { AppContext } from "../cli/context.js";
import { ExitCode, ExitWithCode, UsageError } from "../errors.js";
import { DEFAULT_AUTO_DISABLE_AFTER } from "../config.js";
import { parseSince } from "../core/time.js";
import { loginHint } from "../providers/http.js";
import type { SyncRunRow } from "../store/schema.js";
import { reviewCount } from "../mapping/store.js";

export const DEFAULT_STALE_AFTER = "24h";

export interface ConnectionStatus {
  connection: string;
  provider: string;
  site: string;
  account: string | null;
  auth: string;
  secret_store: string;
  enabled: boolean;
  last_sync: null | {
    started_at: string;
    mode: string;
    status: string;
    pulled: number;
    created: number;
    updated: number;
    deleted: number;
    duration_ms: number | null;
    error: string | null;
  };
  last_success_at: string | null;
  cursor: string | null;
  consecutive_failures: number;
  /** Failed syncs in a row that disable the connection (0 = never). */
  auto_disable_after: number;
  disabled_reason: string | null;
  issues: Record<string, number>;
  deleted_issues: number;
  pending_changes: number;
  conflicts: number;
  mappings_to_review: number;
  /** OAuth: when the access token expires (it is refreshed automatically when `token_refreshes`). */
  token_expires_at: string | null;
  token_refreshes: boolean;
  healthy: boolean;
  warnings: string[];
}

export async function status(ctx: AppContext, names: string[], staleAfter = DEFAULT_STALE_AFTER): Promise<ConnectionStatus[]> {
  const staleFrom = parseSince(staleAfter);
  if (staleFrom === null || !/^\d+\s*[mhdw]$/i.test(staleAfter.trim())) throw new UsageError(`--stale-after "${staleAfter}" is not a span like 6h, 1d or 2w`);
  const cfg = ctx.config();
  const selected = names.length ? names : Object.keys(cfg.connections);
  for (const n of selected) ctx.connection(n);
  const { sqlite } = await ctx.store();
  const out: ConnectionStatus[] = [];
  for (const name of selected) {
    const c = cfg.connections[name]!;
    const last = sqlite.prepare("SELECT * FROM sync_runs WHERE connection = ? AND status != 'running' ORDER BY id DESC LIMIT 1").get(name) as SyncRunRow | undefined;
    const lastOk = sqlite.prepare("SELECT max(finished_at) FROM sync_runs WHERE connection = ? AND status = 'ok'").pluck().get(name) as string | null;
    const state = sqlite.prepare("SELECT cursor, consecutive_failures FROM sync_state WHERE connection = ?").get(name) as
      | { cursor: string | null; consecutive_failures: number }
      | undefined;
    const byCat = sqlite
      .prepare("SELECT coalesce(status_category, 'unknown') AS cat, count(*) AS n FROM issues WHERE connection = ? AND deleted_at IS NULL GROUP BY 1 ORDER BY 1")
      .all(name) as { cat: string; n: number }[];
    const deleted = sqlite.prepare("SELECT count(*) FROM issues WHERE connection = ? AND deleted_at IS NOT NULL").pluck().get(name) as number;
    const pending = sqlite.prepare("SELECT state, count(*) AS n FROM pending_changes WHERE connection = ? GROUP BY state").all(name) as { state: string; n: number }[];
    const review = reviewCount(sqlite, name);

    const warnings: string[] = [];
    if (!c.enabled) warnings.push(`disabled${c.disabled_reason ? `: ${c.disabled_reason}` : ""}; \`pmsync connections enable ${name}\` turns it back on`);
    if (last?.status === "failed") warnings.push(`last sync failed: ${last.error ?? "unknown error"}`);
    if (!lastOk) warnings.push("never synced successfully");
    const stale = lastOk !== null && Date.parse(lastOk) < staleFrom;
    if (stale) warnings.push(`stale: last successful sync ${lastOk} (older than ${staleAfter})`);
    const failures = state?.consecutive_failures ?? 0;
    const limit = c.auto_disable_after ?? DEFAULT_AUTO_DISABLE_AFTER;
    if (c.enabled && failures > 0) warnings.push(`${failures} failed sync(s) in a row${limit > 0 ? `; disabled automatically at ${limit}` : ""}`);
    if (c.secret_store === "file") warnings.push("the token is stored in plain text (--insecure-storage)");
    const envSet = Boolean(process.env[envVarName(name)]);
    // Where the secret really is now (env wins), and its expiry. Keychain reads are bounded.
    let source: string = envSet ? "env" : c.secret_store;
    let expiresAt: string | null = null;
    let refreshes = false;
    let hasSecret = true;
    try {
      const found = await ctx.credentials.get(name, c.secret_store);
      if (!found) {
        hasSecret = false;
        warnings.push(`no credentials found (${c.secret_store}); run \`${loginHint(name, c)}\``);
      } else {
        source = found.source;
        expiresAt = found.secret.expires_at ?? null;
        refreshes = Boolean(found.secret.refresh_token);
        const left = expiresAt ? Date.parse(expiresAt) - Date.now() : null;
        if (left !== null && !refreshes && left < 7 * 86_400_000) {
          warnings.push(left <= 0 ? `the token expired at ${expiresAt}; run \`${loginHint(name, c)}\`` : `the token expires at ${expiresAt} and cannot be refreshed`);
        }
      }
    } catch (err) {
      warnings.push(`cannot read the secret: ${(err as Error).message}`);
    }
    out.push({
      connection: name,
      provider: c.provider,
      site: c.site,
      account: c.account ? `${c.account.name}${c.account.email ? ` <${c.account.email}>` : ""}` : null,
      auth: c.auth === "oauth" ? "oauth" : "token",
      secret_store: source,
      enabled: c.enabled,
      last_sync: last
        ? {
            started_at: last.started_at,
            mode: last.mode,
            status: last.status,
            pulled: last.pulled,
            created: last.created,
            updated: last.updated,
            deleted: last.deleted,
            duration_ms: last.duration_ms,
            error: last.error,
          }
        : null,
      last_success_at: lastOk,
      cursor: state?.cursor ?? null,
      consecutive_failures: failures,
      auto_disable_after: limit,
      disabled_reason: c.enabled ? null : (c.disabled_reason ?? null),
      issues: Object.fromEntries(byCat.map((r) => [r.cat, r.n])),
      deleted_issues: deleted,
      pending_changes: pending.filter((p) => p.state !== "conflict").reduce((a, p) => a + p.n, 0),
      conflicts: pending.find((p) => p.state === "conflict")?.n ?? 0,
      mappings_to_review: review,
      token_expires_at: expiresAt,
      token_refreshes: refreshes,
      healthy: c.enabled && last?.status !== "failed" && Boolean(lastOk) && !stale && hasSecret,
      warnings,
    });
  }
  if (ctx.io.json) ctx.io.printJson({ connections: out });
  else print(ctx, out);
  if (out.some((s) => !s.healthy)) throw new ExitWithCode(ExitCode.partial);
  return out;
}

function print(ctx: AppContext, list: ConnectionStatus[]): void {
  const io = ctx.io;
  if (!list.length) io.info("No connections yet. Create one with `pmsync login jira --site … --email … --token-stdin`.");
  for (const s of list) {
    io.out(io.paint("bold", `${s.connection}`) + ` (${s.provider}, ${s.site})`);
    const line = (k: string, v: string) => io.out(`  ${k.padEnd(16)} ${v}`);
    const expiry = s.token_expires_at ? ` · access token until ${s.token_expires_at}${s.token_refreshes ? " (refreshed automatically)" : ""}` : "";
    line("account", `${s.account ?? "unknown"} · ${s.auth} in ${s.secret_store}${expiry}`);
    line("enabled", s.enabled ? "yes" : io.paint("red", `no${s.disabled_reason ? ` (${s.disabled_reason})` : ""}`));
    if (s.last_sync) {
      const l = s.last_sync;
      line(
        "last sync",
        `${l.started_at} ${l.mode} ${l.status}: pulled ${l.pulled}, created ${l.created}, updated ${l.updated}, deleted ${l.deleted}${l.duration_ms !== null ? `, ${(l.duration_ms / 1000).toFixed(1)} s` : ""}`,
      );
    } else line("last sync", "never");
    line("cursor", s.cursor ?? "none (next sync is a full sync)");
    const cats = Object.entries(s.issues).map(([k, v]) => `${k} ${v}`).join(", ");
    line("issues", `${cats || "none"}${s.deleted_issues ? `; ${s.deleted_issues} deleted` : ""}`);
    line("pending", `${s.pending_changes} change(s), ${s.conflicts} conflict(s)`);
    line("mappings", `${s.mappings_to_review} to review${s.mappings_to_review ? ` (\`pmsync mappings review ${s.connection}\`)` : ""}`);
    for (const w of s.warnings) io.out(`  ${io.paint("yellow", "! " + w)}`);
  }
}
