// `pmsync connections [list|show N|remove N]`.

import type { AppContext } from "../cli/context.js";
import { DEFAULT_AUTO_DISABLE_AFTER, loadConfig } from "../config.js";
import { providerModule } from "../providers/registry.js";
import { printTable } from "../cli/table.js";
import { envVarName } from "../auth/credentials.js";
import type { Store } from "../store/db.js";
import { UsageError } from "../errors.js";

function secretWhere(name: string, store: string): string {
  return process.env[envVarName(name)] ? `env (${envVarName(name)})` : store;
}

export async function listConnections(ctx: AppContext): Promise<void> {
  const cfg = ctx.config();
  const rows = Object.entries(cfg.connections).map(([name, c]) => ({
    name,
    provider: c.provider,
    site: c.site,
    account: c.account?.name ?? null,
    auth: c.auth,
    secret: secretWhere(name, c.secret_store),
    projects: c.projects,
    enabled: c.enabled,
  }));
  if (ctx.io.json) return ctx.io.printJson(rows);
  if (!rows.length) {
    ctx.io.info("No connections yet. Create one with `pmsync login jira --site … --email … --token-stdin`.");
    return;
  }
  await printTable(
    ctx.io,
    ["name", "provider", "site", "account", "auth", "secret", "projects", "enabled"],
    rows.map((r) => [r.name, r.provider, r.site, r.account, r.auth, r.secret, r.projects.join(",") || "(all)", r.enabled ? "yes" : "no"]),
  );
}

export async function showConnection(ctx: AppContext, name: string): Promise<void> {
  const c = ctx.connection(name);
  const store = await ctx.store();
  const state = store.sqlite.prepare("SELECT cursor, last_full_at, consecutive_failures FROM sync_state WHERE connection = ?").get(name) as
    | { cursor: string | null; last_full_at: string | null; consecutive_failures: number }
    | undefined;
  const issues = store.sqlite.prepare("SELECT count(*) FROM issues WHERE connection = ? AND deleted_at IS NULL").pluck().get(name) as number;
  const detail = {
    name,
    ...c,
    secret: secretWhere(name, c.secret_store),
    cursor: state?.cursor ?? null,
    last_full_sync: state?.last_full_at ?? null,
    consecutive_failures: state?.consecutive_failures ?? 0,
    issues,
  };
  if (ctx.io.json) return ctx.io.printJson(detail);
  for (const [k, v] of Object.entries(detail)) {
    const text = Array.isArray(v) ? v.join(", ") || "(all)" : v && typeof v === "object" ? JSON.stringify(v) : String(v ?? "");
    ctx.io.out(`${k.padEnd(22)} ${text}`);
  }
}

export async function removeConnection(ctx: AppContext, name: string, purge: boolean): Promise<void> {
  ctx.connection(name);
  const cfg = ctx.config();
  const removed = await ctx.credentials.remove(name);
  delete cfg.connections[name];
  ctx.saveConfig(cfg);
  const purged = purge ? purgeConnectionData(await ctx.store(), name) : 0;
  if (ctx.io.json) return ctx.io.printJson({ connection: name, removed_secrets_from: removed, purged_rows: purged });
  ctx.io.out(`Removed connection "${name}"${removed.length ? ` and its secret (${removed.join(", ")})` : ""}.`);
  if (!purge) ctx.io.info("Its cached issues stay in the cache; `--purge` deletes them too.");
}

/** Deletes everything the cache holds for a connection; returns the number of rows. */
export function purgeConnectionData(store: Store, name: string): number {
  let purged = 0;
  store.sqlite.transaction(() => {
    for (const t of ["issues", "issue_changes", "projects", "field_catalog", "field_mappings", "mapping_state", "sync_runs", "sync_state", "api_usage", "pending_changes", "connections"]) {
      const col = t === "connections" ? "name" : "connection";
      purged += store.sqlite.prepare(`DELETE FROM ${t} WHERE ${col} = ?`).run(name).changes;
    }
  }).immediate();
  return purged;
}

/**
 * Turns a connection on or off. Enabling also clears the failure count, so one more failure does
 * not disable it again at once. Reads config.json afresh: a long sync may have run since.
 */
export async function updateEnabled(ctx: AppContext, name: string, enabled: boolean, reason?: string): Promise<string | null> {
  ctx.connection(name);
  const cfg = loadConfig(ctx.paths);
  const c = cfg.connections[name]!;
  c.enabled = enabled;
  if (enabled) delete c.disabled_reason;
  else c.disabled_reason = reason ?? `disabled by hand at ${new Date().toISOString()}`;
  c.updated_at = new Date().toISOString();
  ctx.saveConfig(cfg);
  if (enabled) {
    const store = await ctx.store();
    store.sqlite.prepare("UPDATE sync_state SET consecutive_failures = 0 WHERE connection = ?").run(name);
  }
  return c.disabled_reason ?? null;
}

/** `connections enable|disable N`. */
export async function setEnabled(ctx: AppContext, name: string, enabled: boolean): Promise<void> {
  const reason = await updateEnabled(ctx, name, enabled);
  if (ctx.io.json) return ctx.io.printJson({ connection: name, enabled, disabled_reason: reason });
  ctx.io.out(enabled ? `Enabled "${name}": the next \`pmsync sync\` includes it.` : `Disabled "${name}": \`pmsync sync\` skips it until \`pmsync connections enable ${name}\`.`);
}

export interface SetOptions {
  projects?: string[];
  autoDisableAfter?: number;
}

/** `connections set N --projects a,b --auto-disable-after K`: settings that need no new login. */
export async function setConnection(ctx: AppContext, name: string, opts: SetOptions): Promise<void> {
  ctx.connection(name);
  const cfg = loadConfig(ctx.paths);
  const c = cfg.connections[name]!;
  if (opts.projects === undefined && opts.autoDisableAfter === undefined) {
    throw new UsageError("nothing to set", { hint: "give --projects a,b (empty for all) and/or --auto-disable-after N" });
  }
  if (opts.projects !== undefined) {
    const spec = providerModule(c.provider).login;
    c.projects = opts.projects.map((p) => (spec.normaliseProject ? spec.normaliseProject(p) : p));
  }
  if (opts.autoDisableAfter !== undefined) c.auto_disable_after = opts.autoDisableAfter;
  c.updated_at = new Date().toISOString();
  ctx.saveConfig(cfg);
  const result = { connection: name, projects: c.projects, auto_disable_after: c.auto_disable_after ?? DEFAULT_AUTO_DISABLE_AFTER };
  if (ctx.io.json) return ctx.io.printJson(result);
  ctx.io.out(`Updated "${name}": projects ${result.projects.join(", ") || "(all)"}; disabled after ${result.auto_disable_after || "no"} failed syncs in a row.`);
  if (opts.projects !== undefined) ctx.io.info("The next `pmsync sync --full` brings the cache in line with the new scope.");
}
