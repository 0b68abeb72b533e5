// `pmsync login <provider>`: verifies the credential with a who-am-I call before saving
// anything, then stores the secret (keychain, or the 0600 file after --insecure-storage) and
// the connection's settings in config.json.

import { envVarName, type Secret } from "../auth/credentials.js";
import type { AppContext } from "../cli/context.js";
import { newUsage } from "../cli/context.js";
import { validateConnectionName, type ConnectionConfig } from "../config.js";
import { CredentialStoreError, UsageError } from "../errors.js";
import { providerModule } from "../providers/registry.js";
import { SyncStore } from "../store/sync-store.js";

export interface LoginOptions {
  provider: string;
  name?: string;
  site?: string;
  email?: string;
  apiUrl?: string;
  tokenStdin: boolean;
  /** Given programmatically (the demo); never from a flag, so tokens stay out of shell history. */
  token?: string;
  projects: string[];
  insecureStorage: boolean;
}

export interface LoginResult {
  connection: string;
  provider: string;
  site: string;
  account: { id: string; name: string; email: string | null; time_zone: string | null };
  secret_store: "keychain" | "file" | "env";
}

export async function login(ctx: AppContext, opts: LoginOptions): Promise<LoginResult> {
  const mod = providerModule(opts.provider);
  const name = validateConnectionName(opts.name ?? opts.provider);
  const cfg = ctx.config();
  const previous = cfg.connections[name];
  if (previous && previous.provider !== opts.provider) {
    throw new UsageError(`connection "${name}" is a ${previous.provider} connection`, { hint: "choose another --name" });
  }
  const site = normaliseSite(opts.site ?? previous?.site);
  const email = opts.email ?? previous?.email;
  if (!email) throw new UsageError("Jira API-token login needs --email (the Atlassian account's email)");
  const apiUrl = opts.apiUrl ? normaliseSite(opts.apiUrl, "--api-url") : previous?.api_url;

  const { token, fromEnv } = await readToken(ctx, name, opts);
  // Decide where the secret goes before calling the tracker, so a missing keychain fails fast.
  const store: LoginResult["secret_store"] = fromEnv ? "env" : opts.insecureStorage ? "file" : "keychain";
  if (store === "keychain") {
    const reason = ctx.credentials.keychain.unavailableReason();
    if (reason) {
      throw new CredentialStoreError(`cannot save the token: the OS keychain is unavailable (${reason})`, {
        hint: `use --insecure-storage to keep it in a 0600 file under ${ctx.paths.home}, or set ${envVarName(name)} in the environment`,
      });
    }
  }

  const now = new Date().toISOString();
  const conn: ConnectionConfig = {
    provider: opts.provider,
    site,
    ...(apiUrl ? { api_url: apiUrl } : {}),
    email,
    auth: "api_token",
    projects: opts.projects.length ? opts.projects : (previous?.projects ?? []),
    enabled: true,
    secret_store: store,
    created_at: previous?.created_at ?? now,
    updated_at: now,
  };
  const secret: Secret = { type: "api_token", token };
  const usage = newUsage();
  const http = ctx.http(name, conn, secret, usage);
  let identity;
  try {
    identity = await mod.create({ connectionName: name, config: conn, secret, http }).verify();
  } finally {
    // The who-am-I call counts in usage, even when it fails.
    const sstore = new SyncStore(await ctx.store());
    sstore.upsertConnection(name, conn.provider, conn.site);
    sstore.flushUsage(name, usage.drain());
  }
  conn.account = { id: identity.accountId, name: identity.displayName, email: identity.email, time_zone: identity.timeZone };

  if (store !== "env") await ctx.credentials.save(name, secret, store);
  cfg.connections[name] = conn;
  ctx.saveConfig(cfg);

  const result: LoginResult = { connection: name, provider: conn.provider, site, account: conn.account, secret_store: store };
  if (ctx.io.json) ctx.io.printJson(result);
  else {
    ctx.io.out(`Logged in to ${site} as ${identity.displayName}${identity.email ? ` (${identity.email})` : ""}: connection "${name}".`);
    if (store === "keychain") ctx.io.info("The token is in the OS keychain (service \"pmsync\").");
    if (store === "env") ctx.io.info(`The token comes from ${envVarName(name)}; nothing was stored. Keep it set for sync.`);
    if (store === "file") ctx.io.warn(`the token is stored in plain text in ${ctx.paths.credentials} (mode 0600), as --insecure-storage asked.`);
    ctx.io.info(`Next: pmsync sync${name === conn.provider ? "" : ` ${name}`}`);
  }
  return result;
}

/** Sites must be https, except on loopback (the sandbox, local tests). */
export function normaliseSite(value: string | undefined, flag = "--site"): string {
  if (!value) throw new UsageError(`${flag} is required (e.g. ${flag} https://your-team.atlassian.net)`);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UsageError(`${flag} "${value}" is not a URL (e.g. https://your-team.atlassian.net)`);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
  if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) {
    throw new UsageError(`${flag} must use https:// (plain http is accepted only for 127.0.0.1/localhost)`);
  }
  if (u.username || u.password || u.search || u.hash) throw new UsageError(`${flag} must not carry credentials, a query or a fragment`);
  return u.toString().replace(/\/+$/, "");
}

async function readToken(ctx: AppContext, name: string, opts: LoginOptions): Promise<{ token: string; fromEnv: boolean }> {
  if (opts.token) return { token: opts.token, fromEnv: false };
  if (opts.tokenStdin) {
    const token = (await readStdin()).trim();
    if (!token) throw new UsageError("--token-stdin was given but standard input was empty");
    return { token, fromEnv: false };
  }
  const env = process.env[envVarName(name)];
  if (env) return { token: env, fromEnv: true };
  if (!ctx.io.canPrompt()) {
    throw new UsageError("no API token given", {
      hint: `pipe it in with --token-stdin (e.g. \`pmsync login jira --site … --email … --token-stdin < token.txt\`) or set ${envVarName(name)}`,
    });
  }
  const { password } = await import("@inquirer/prompts");
  const token = (await password({ message: "Jira API token (https://id.atlassian.com/manage-profile/security/api-tokens):", mask: "*" })).trim();
  if (!token) throw new UsageError("no token entered");
  return { token, fromEnv: false };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
