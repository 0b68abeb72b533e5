// `pmsync login <provider>`: verifies the credential with a who-am-I call before saving
// anything, then stores the secret (keychain, or the 0600 file after --insecure-storage) and
// the connection's settings in config.json.

import { envVarName, type Secret } from "../auth/credentials.js";
import type { AppContext } from "../cli/context.js";
import { newUsage } from "../cli/context.js";
import { validateConnectionName, type ConnectionConfig } from "../config.js";
import { CredentialStoreError, UsageError } from "../errors.js";
import { providerModule } from "../providers/registry.js";
import type { OAuthSpec } from "../providers/provider.js";
import { SyncStore } from "../store/sync-store.js";
import { HttpClient } from "../http/client.js";
import { JIRA_OAUTH, accessibleResources, chooseResource, gatewayUrl, jiraAuthorizeUrl } from "../providers/jira/oauth.js";

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
  /** Provider-specific settings (`--owner` for GitHub). */
  options?: Record<string, string>;
  insecureStorage: boolean;
  /** OAuth 2.0 (Jira 3LO) instead of an API token. */
  oauth?: boolean;
  clientId?: string;
  clientSecretStdin?: boolean;
  /** Given programmatically (the demo); never from a flag. */
  clientSecret?: string;
  /** Device flow (RFC 8628): a code to type on any device; for machines without a browser. */
  device?: boolean;
  /** The loopback callback port (Jira needs the registered one; 0 = any free port). */
  port?: number;
  noBrowser?: boolean;
  authorizeUrl?: string;
  tokenUrl?: string;
  callbackTimeoutS: number;
  /** Opens the authorize URL (programmatic: the demo's automated browser). */
  browser?: (url: string) => Promise<void>;
}

export interface LoginResult {
  connection: string;
  provider: string;
  site: string;
  account: { id: string; name: string; email: string | null; time_zone: string | null };
  secret_store: "keychain" | "file" | "env";
}

export async function login(ctx: AppContext, options: LoginOptions): Promise<LoginResult> {
  let opts = options;
  const mod = providerModule(opts.provider);
  const name = validateConnectionName(opts.name ?? opts.provider);
  const cfg = ctx.config();
  const previous = cfg.connections[name];
  if (previous && previous.provider !== opts.provider) {
    throw new UsageError(`connection "${name}" is a ${previous.provider} connection`, { hint: "choose another --name" });
  }
  if (opts.device) opts = { ...opts, oauth: true }; // the device flow is an OAuth login
  if (opts.oauth && opts.tokenStdin) throw new UsageError("--oauth and --token-stdin are two different logins: choose one");
  if (opts.oauth && opts.provider !== "jira" && !mod.oauth) {
    throw new UsageError(`${opts.provider} has no OAuth login in pmsync`, { hint: `use a token: pmsync login ${opts.provider} --token-stdin` });
  }

  opts = await askMissing(ctx, name, opts, previous);
  const usage = newUsage();
  const countUsage = async () => {
    // Every request counts in usage (the who-am-I call too), even when the login fails.
    const sstore = new SyncStore(await ctx.store());
    sstore.upsertConnection(name, opts.provider, previous?.site ?? opts.site ?? "");
    sstore.flushUsage(name, usage.drain());
  };
  try {
    const { conn, secret } = !opts.oauth
      ? await tokenCredential(ctx, name, opts, previous)
      : mod.oauth
        ? await providerOAuthCredential(ctx, name, opts, previous, usage, mod.oauth)
        : await oauthCredential(ctx, name, opts, previous, usage);
    const http = ctx.http(name, conn, secret, usage);
    const identity = await mod.create({ connectionName: name, config: conn, secret, http }).verify();
    conn.account = { id: identity.accountId, name: identity.displayName, email: identity.email, time_zone: identity.timeZone };

    // The secret first, then the settings that point at it.
    if (conn.secret_store !== "env") await ctx.credentials.save(name, secret, conn.secret_store);
    cfg.connections[name] = conn;
    ctx.saveConfig(cfg);

    const store = conn.secret_store;
    const result: LoginResult = { connection: name, provider: conn.provider, site: conn.site, account: conn.account, secret_store: store };
    if (ctx.io.json) ctx.io.printJson(result);
    else {
      ctx.io.out(`Logged in to ${conn.site} as ${identity.displayName}${identity.email ? ` (${identity.email})` : ""}: connection "${name}" (${conn.auth === "oauth" ? "OAuth" : "API token"}).`);
      const what = conn.auth === "oauth" ? "The tokens are" : "The token is";
      if (store === "keychain") ctx.io.info(`${what} in the OS keychain (service "pmsync").`);
      if (store === "env") ctx.io.info(`The token comes from ${envVarName(name)}; nothing was stored. Keep it set for sync.`);
      if (store === "file") ctx.io.warn(`${what.toLowerCase()} stored in plain text in ${ctx.paths.credentials} (mode 0600), as --insecure-storage asked.`);
      ctx.io.info(`Next: pmsync sync${name === conn.provider ? "" : ` ${name}`}`);
    }
    return result;
  } finally {
    await countUsage();
  }
}

type Credential = { conn: ConnectionConfig; secret: Secret };


/**
 * At a terminal, asks for what the flags did not say: the login method (where the provider offers
 * both), the site and the email. Without a terminal nothing is asked; the checks further on name
 * the missing flag instead (SPEC §3: prompts only when stdin and stdout are TTYs).
 */
async function askMissing(ctx: AppContext, name: string, opts: LoginOptions, previous: ConnectionConfig | undefined): Promise<LoginOptions> {
  const decided = opts.oauth || opts.tokenStdin || opts.token !== undefined || Boolean(process.env[envVarName(name)]);
  if (!ctx.io.canPrompt() || decided) return opts;
  const { select, input } = await import("@inquirer/prompts");
  const out = { ...opts };
  if (opts.provider === "jira" || providerModule(opts.provider).oauth) {
    const method = await select({
      message: "How do you want to log in?",
      choices: [
        { name: "API token", value: "token", description: "an API token you create in your account settings; works on any machine" },
        { name: "OAuth in the browser", value: "oauth", description: "approve pmsync in the browser; needs an OAuth app's client id and secret" },
      ],
      default: previous?.auth === "oauth" ? "oauth" : "token",
    });
    out.oauth = method === "oauth";
  }
  const spec = providerModule(opts.provider).login;
  if (out.oauth) {
    if (!out.clientId && !previous?.oauth?.client_id) out.clientId = (await input({ message: "OAuth client id:", required: true })).trim();
    return out;
  }
  if (!out.site && !previous?.site && !spec.defaultSite) {
    out.site = (await input({ message: "Site URL (e.g. https://your-team.atlassian.net):", required: true, validate: siteProblem })).trim();
  }
  if (spec.needsEmail && !out.email && !previous?.email) {
    out.email = (await input({ message: "Account email:", required: true, validate: (v) => (/^\S+@\S+$/.test(v.trim()) ? true : "an email address, e.g. me@example.com") })).trim();
  }
  return out;
}

function siteProblem(value: string): true | string {
  try {
    normaliseSite(value.trim());
    return true;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Where the secret will go, decided before any network call so a missing keychain fails fast. */
function secretStore(ctx: AppContext, name: string, opts: LoginOptions, fromEnv: boolean): ConnectionConfig["secret_store"] {
  const store = fromEnv ? "env" : opts.insecureStorage ? "file" : "keychain";
  if (store === "keychain") {
    const reason = ctx.credentials.keychain.unavailableReason();
    if (reason) {
      throw new CredentialStoreError(`cannot save the credentials: the OS keychain is unavailable (${reason})`, {
        hint: `use --insecure-storage to keep them in a 0600 file under ${ctx.paths.home}, or set ${envVarName(name)} in the environment`,
      });
    }
  }
  return store;
}

function baseConfig(opts: LoginOptions, previous: ConnectionConfig | undefined, fields: Pick<ConnectionConfig, "site" | "auth" | "secret_store">): ConnectionConfig {
  const now = new Date().toISOString();
  const spec = providerModule(opts.provider).login;
  const projects = opts.projects.map((p) => (spec.normaliseProject ? spec.normaliseProject(p) : p));
  const options = { ...previous?.options, ...opts.options };
  return {
    provider: opts.provider,
    ...fields,
    projects: projects.length ? projects : (previous?.projects ?? []),
    ...(Object.keys(options).length ? { options } : {}),
    enabled: true,
    created_at: previous?.created_at ?? now,
    updated_at: now,
  };
}

async function tokenCredential(ctx: AppContext, name: string, opts: LoginOptions, previous: ConnectionConfig | undefined): Promise<Credential> {
  const spec = providerModule(opts.provider).login;
  const site = normaliseSite(opts.site ?? previous?.site ?? spec.defaultSite);
  const email = opts.email ?? previous?.email;
  if (spec.needsEmail && !email) throw new UsageError(`${opts.provider} API-token login needs --email (the account's email)`);
  const apiUrl = opts.apiUrl
    ? normaliseSite(opts.apiUrl, "--api-url")
    : previous?.auth === "api_token" && previous.site === site && previous.api_url
      ? previous.api_url
      : spec.defaultApiUrl?.(site);
  const { token, fromEnv } = await readToken(ctx, name, opts, spec.tokenLabel);
  const conn = baseConfig(opts, previous, { site, auth: "api_token", secret_store: secretStore(ctx, name, opts, fromEnv) });
  if (spec.needsEmail && email) conn.email = email;
  if (apiUrl) conn.api_url = apiUrl;
  return { conn, secret: { type: "api_token", token } };
}

/**
 * OAuth 2.0 authorization code flow with PKCE and a loopback redirect (Jira 3LO): the browser
 * approves, the callback brings the code, the code becomes tokens, accessible-resources gives the
 * cloud id, and API calls go through the gateway.
 */
async function oauthCredential(
  ctx: AppContext,
  name: string,
  opts: LoginOptions,
  previous: ConnectionConfig | undefined,
  usage: ReturnType<typeof newUsage>,
): Promise<Credential> {
  const prev = previous?.oauth;
  const clientId = opts.clientId ?? prev?.client_id;
  if (!clientId) throw new UsageError("OAuth login needs --client-id (the app's client id from the Atlassian developer console)");
  const authorizeUrl = opts.authorizeUrl ? normaliseSite(opts.authorizeUrl, "--authorize-url") : (prev?.authorize_url ?? JIRA_OAUTH.authorizeUrl);
  const tokenUrl = opts.tokenUrl ? normaliseSite(opts.tokenUrl, "--token-url") : (prev?.token_url ?? JIRA_OAUTH.tokenUrl);
  const apiBase = opts.apiUrl ? normaliseSite(opts.apiUrl, "--api-url") : (prev?.api_base ?? JIRA_OAUTH.apiBase);
  const site = opts.site ? normaliseSite(opts.site) : undefined;
  const port = opts.port ?? prev?.port ?? JIRA_OAUTH.port;
  const clientSecret = await readClientSecret(ctx, opts);
  const store = secretStore(ctx, name, opts, false);

  const { createPkce, createState } = await import("../auth/oauth/pkce.js");
  const { tokenRequest, secretFromTokens } = await import("../auth/oauth/tokens.js");
  const pkce = createPkce();
  const state = createState();
  const { code, redirectUri } = await browserCode(ctx, opts, {
    port,
    state,
    authorize: (uri) => jiraAuthorizeUrl(authorizeUrl, { clientId, redirectUri: uri, state, challenge: pkce.challenge }),
  });

  const hint = `pmsync login jira --oauth${name !== "jira" ? ` --name ${name}` : ""}`;
  const log = ctx.verboseLog();
  const plain = endpointClient(tokenUrl, usage, hint, log, [clientSecret, code]);
  const tokens = await tokenRequest(
    plain,
    tokenUrl,
    { grant_type: "authorization_code", client_id: clientId, client_secret: clientSecret, code, redirect_uri: redirectUri, code_verifier: pkce.verifier },
    hint,
  );
  const secret = secretFromTokens(tokens, clientSecret);
  const bearer = new HttpClient({
    baseUrl: apiBase,
    headers: () => ({ authorization: `Bearer ${secret.token}` }),
    usage,
    loginHint: hint,
    secrets: [secret.token, secret.refresh_token ?? ""].filter(Boolean),
    ...(log ? { log } : {}),
  });
  const resource = chooseResource(await accessibleResources(bearer, apiBase), site);

  const conn = baseConfig(opts, previous, { site: resource.url.replace(/\/+$/, ""), auth: "oauth", secret_store: store });
  conn.api_url = gatewayUrl(apiBase, resource.id);
  conn.oauth = { client_id: clientId, authorize_url: authorizeUrl, token_url: tokenUrl, api_base: apiBase, port, cloud_id: resource.id };
  return { conn, secret };
}

/**
 * OAuth for providers described by an `OAuthSpec` (GitHub, Linear): the authorization code flow
 * with PKCE on a loopback redirect, or the device flow (RFC 8628) where the provider has one and
 * the user asked for it. The account is checked afterwards with the provider's who-am-I call.
 */
async function providerOAuthCredential(
  ctx: AppContext,
  name: string,
  opts: LoginOptions,
  previous: ConnectionConfig | undefined,
  usage: ReturnType<typeof newUsage>,
  spec: OAuthSpec,
): Promise<Credential> {
  const login = providerModule(opts.provider).login;
  const prev = previous?.oauth;
  const site = normaliseSite(opts.site ?? previous?.site ?? login.defaultSite);
  const ends = spec.endpoints(site);
  const clientId = opts.clientId ?? prev?.client_id;
  if (!clientId) throw new UsageError(`OAuth login needs --client-id (the client id of your ${opts.provider} OAuth app)`);
  const authorizeUrl = opts.authorizeUrl ? normaliseSite(opts.authorizeUrl, "--authorize-url") : ends.authorizeUrl;
  const tokenUrl = opts.tokenUrl ? normaliseSite(opts.tokenUrl, "--token-url") : ends.tokenUrl;
  const apiUrl = opts.apiUrl ? normaliseSite(opts.apiUrl, "--api-url") : (login.defaultApiUrl?.(site) ?? site);
  const store = secretStore(ctx, name, opts, false);
  const hint = `pmsync login ${opts.provider} --oauth${name !== opts.provider ? ` --name ${name}` : ""}`;
  const log = ctx.verboseLog();
  const { tokenRequest, secretFromTokens } = await import("../auth/oauth/tokens.js");

  let tokens;
  let clientSecret: string | undefined;
  let port = opts.port ?? prev?.port ?? spec.defaultPort;
  if (opts.device) {
    if (!ends.deviceCodeUrl) throw new UsageError(`${opts.provider} has no device login`, { hint: "use the browser login (--oauth) or a token" });
    const plain = endpointClient(tokenUrl, usage, hint, log);
    const { startDeviceFlow } = await import("../auth/oauth/device.js");
    const flow = await startDeviceFlow({ http: plain, deviceCodeUrl: ends.deviceCodeUrl, tokenUrl, clientId, scope: spec.scope, tokenBody: spec.tokenBody, loginHint: hint });
    ctx.io.info(`On any device, open ${flow.verificationUri} and enter the code:\n\n    ${flow.userCode}\n`);
    ctx.io.info(`Waiting for approval (the code expires in ${Math.round(flow.expiresIn / 60)} min) …`);
    tokens = await flow.poll();
    port = 0;
  } else {
    clientSecret = spec.clientSecret === "required" || opts.clientSecretStdin || opts.clientSecret ? await readClientSecret(ctx, opts) : undefined;
    const { createPkce, createState } = await import("../auth/oauth/pkce.js");
    const pkce = createPkce();
    const state = createState();
    const code = await browserCode(ctx, opts, { port, state, authorize: (redirectUri) => {
      const u = new URL(authorizeUrl);
      const params: Record<string, string> = {
        client_id: clientId,
        redirect_uri: redirectUri,
        response_type: "code",
        scope: spec.scope,
        state,
        code_challenge: pkce.challenge,
        code_challenge_method: "S256",
        ...spec.authorizeParams,
      };
      for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
      return u.toString();
    } });
    const plain = endpointClient(tokenUrl, usage, hint, log, [clientSecret ?? "", code.code]);
    tokens = await tokenRequest(
      plain,
      tokenUrl,
      {
        grant_type: "authorization_code",
        client_id: clientId,
        ...(clientSecret ? { client_secret: clientSecret } : {}),
        code: code.code,
        redirect_uri: code.redirectUri,
        code_verifier: pkce.verifier,
      },
      hint,
      spec.tokenBody,
    );
  }
  const secret = secretFromTokens(tokens, clientSecret);
  const conn = baseConfig(opts, previous, { site, auth: "oauth", secret_store: store });
  conn.api_url = apiUrl;
  conn.oauth = { client_id: clientId, authorize_url: authorizeUrl, token_url: tokenUrl, api_base: apiUrl, port, token_body: spec.tokenBody };
  return { conn, secret };
}

/** A client for an OAuth endpoint (no auth header); counts in usage, redacts the given secrets. */
function endpointClient(url: string, usage: ReturnType<typeof newUsage>, loginHint: string, log: ((line: string) => void) | undefined, secrets: string[] = []): HttpClient {
  return new HttpClient({ baseUrl: url, headers: () => ({}), usage, loginHint, secrets: secrets.filter(Boolean), ...(log ? { log } : {}) });
}

/** Opens (or prints) the authorize URL and waits for the one callback on the loopback server. */
async function browserCode(
  ctx: AppContext,
  opts: LoginOptions,
  args: { port: number; state: string; authorize: (redirectUri: string) => string },
): Promise<{ code: string; redirectUri: string }> {
  const { startLoopback } = await import("../auth/oauth/loopback.js");
  const loop = await startLoopback({ port: args.port, state: args.state, timeoutMs: opts.callbackTimeoutS * 1000 });
  try {
    const url = args.authorize(loop.redirectUri);
    ctx.io.info(`Open this URL in a browser and approve pmsync:\n  ${url}`);
    if (opts.browser) {
      void opts.browser(url).catch((err) => ctx.io.warn(`the browser failed: ${(err as Error).message}`));
    } else if (!opts.noBrowser && ctx.io.canPrompt()) {
      const { default: open } = await import("open");
      await open(url).catch(() => ctx.io.info("(could not open a browser; open the URL yourself)"));
    }
    ctx.io.info(`Waiting for the browser on ${loop.redirectUri} …`);
    return { code: await loop.code, redirectUri: loop.redirectUri };
  } finally {
    loop.close();
  }
}

async function readClientSecret(ctx: AppContext, opts: LoginOptions): Promise<string> {
  if (opts.clientSecret) return opts.clientSecret;
  if (opts.clientSecretStdin) {
    const secret = (await readStdin()).trim();
    if (!secret) throw new UsageError("--client-secret-stdin was given but standard input was empty");
    return secret;
  }
  if (!ctx.io.canPrompt()) {
    throw new UsageError("OAuth login needs the app's client secret", { hint: "pipe it in with --client-secret-stdin" });
  }
  const { password } = await import("@inquirer/prompts");
  const secret = (await password({ message: "OAuth client secret:", mask: "*" })).trim();
  if (!secret) throw new UsageError("no client secret entered");
  return secret;
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

async function readToken(ctx: AppContext, name: string, opts: LoginOptions, label: string): Promise<{ token: string; fromEnv: boolean }> {
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
      hint: `pipe it in with --token-stdin (e.g. \`pmsync login ${opts.provider} … --token-stdin < token.txt\`) or set ${envVarName(name)}`,
    });
  }
  const { password } = await import("@inquirer/prompts");
  const token = (await password({ message: `${label}:`, mask: "*" })).trim();
  if (!token) throw new UsageError("no token entered");
  return { token, fromEnv: false };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
