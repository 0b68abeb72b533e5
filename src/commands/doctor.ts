// `pmsync doctor`: checks what a sync depends on and says what to do about each problem:
// config, cache integrity, the OS keychain (bounded), and per connection its credentials,
// connectivity and clock skew (from the server's Date header). Exit 1 when a check fails.

import { envVarName } from "../auth/credentials.js";
import type { AppContext } from "../cli/context.js";
import { newUsage } from "../cli/context.js";
import { errorMessage, ExitCode, ExitWithCode, PmsyncError } from "../errors.js";
import { loginHint } from "../providers/http.js";
import { providerModule } from "../providers/registry.js";
import { SyncStore } from "../store/sync-store.js";

export interface Check {
  check: string;
  status: "ok" | "warn" | "fail";
  detail: string;
  fix: string | null;
}

/** Clock skew worth a warning: JQL windows, token expiry and the lock heartbeat all use time. */
const SKEW_WARN_MS = 60_000;

export async function doctor(ctx: AppContext): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (check: string, status: Check["status"], detail: string, fix: string | null = null) => checks.push({ check, status, detail, fix });

  let connections: [string, ReturnType<AppContext["connection"]>][] = [];
  try {
    connections = Object.entries(ctx.config().connections);
    add("config", "ok", `${ctx.paths.config}: ${connections.length} connection(s)`);
  } catch (err) {
    add("config", "fail", errorMessage(err), err instanceof PmsyncError && err.hint ? err.hint : `fix or move ${ctx.paths.config}`);
  }

  let store: SyncStore | null = null;
  try {
    const s = await ctx.store();
    const result = s.sqlite.pragma("integrity_check", { simple: true });
    if (result === "ok") add("cache", "ok", `${s.path}: integrity_check ok`);
    else add("cache", "fail", `${s.path}: ${String(result)}`, "move the file aside and run `pmsync sync --full` to rebuild it");
    store = new SyncStore(s);
  } catch (err) {
    add("cache", "fail", errorMessage(err), err instanceof PmsyncError && err.hint ? err.hint : null);
  }

  const reason = ctx.credentials.keychain.unavailableReason();
  if (reason) {
    const needed = connections.some(([, c]) => c.secret_store === "keychain");
    add("keychain", needed ? "fail" : "warn", `not reachable: ${reason}`, "run in a desktop session with a Secret Service (gnome-keyring, KWallet), or use PMSYNC_TOKEN_<NAME> / `pmsync login … --insecure-storage`");
  } else {
    try {
      await ctx.credentials.keychain.get("__pmsync_doctor_probe__");
      add("keychain", "ok", "the OS keychain answered");
    } catch (err) {
      add("keychain", "fail", errorMessage(err), "unlock the keyring, or use PMSYNC_TOKEN_<NAME> / `pmsync login … --insecure-storage`");
    }
  }

  for (const [name, conn] of connections) {
    const label = `connection ${name}`;
    if (!conn.enabled) {
      add(label, "warn", `disabled${conn.disabled_reason ? `: ${conn.disabled_reason}` : ""}`, `pmsync connections enable ${name}`);
      continue;
    }
    const usage = newUsage();
    try {
      const { secret, source } = await ctx.secretFor(name, conn);
      // A probe, not a sync: one retry and a short wait, so an unreachable site is reported quickly.
      const http = ctx.http(name, conn, secret, usage, { maxRetries: 1, maxRetryWaitMs: 2_000, timeoutMs: 15_000 });
      const started = Date.now();
      const who = await providerModule(conn.provider).create({ connectionName: name, config: conn, secret, http }).verify();
      const local = (started + Date.now()) / 2;
      add(label, "ok", `${conn.site}: signed in as ${who.displayName} (secret in ${source}${source === "env" ? `: ${envVarName(name)}` : ""})`);
      if (who.serverTimeMs !== null) {
        // The Date header has one-second resolution: allow for it.
        const skew = local - who.serverTimeMs;
        if (Math.abs(skew) > SKEW_WARN_MS) {
          add(`clock ${name}`, "warn", `this machine's clock is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? "ahead of" : "behind"} ${conn.site}`, "enable time synchronisation (NTP, e.g. systemd-timesyncd or chrony)");
        } else add(`clock ${name}`, "ok", `within ${Math.max(1, Math.round(Math.abs(skew) / 1000))} s of ${conn.site}`);
      }
    } catch (err) {
      add(label, "fail", `${conn.site}: ${errorMessage(err)}`, err instanceof PmsyncError && err.hint ? err.hint : `check the network and the site URL, or run \`${loginHint(name, conn)}\``);
    } finally {
      store?.flushUsage(name, usage.drain());
    }
  }

  if (ctx.io.json) ctx.io.printJson(checks);
  else {
    const mark = { ok: ctx.io.paint("green", "ok  "), warn: ctx.io.paint("yellow", "warn"), fail: ctx.io.paint("red", "FAIL") };
    for (const c of checks) {
      ctx.io.out(`${mark[c.status]}  ${c.check.padEnd(22)} ${c.detail}`);
      if (c.fix && c.status !== "ok") ctx.io.out(`      ${"".padEnd(22)} fix: ${c.fix}`);
    }
  }
  if (checks.some((c) => c.status === "fail")) throw new ExitWithCode(ExitCode.failure);
  return checks;
}
