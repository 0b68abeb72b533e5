// Browser (loopback) OAuth login for GitHub and Linear through the built CLI, against the
// providers' fakes: the test plays the browser by following the printed authorize URL (the fake
// approves at once and redirects to pmsync's loopback callback), then checks what was saved,
// that sync works with the bearer token, and Linear's refresh-token rotation.

import { createHash } from "node:crypto";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startGitHubFake, type GitHubFake } from "../../src/providers/github/fake.js";
import { startLinearFake, type LinearFake, type LinearFakeOptions } from "../../src/providers/linear/fake.js";
import { collect, query, runCli, spawnCli, syncJson, tempHome, type CliResult } from "../helpers/cli.js";

const fakes: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function github(): Promise<GitHubFake> {
  const fake = await startGitHubFake();
  fakes.push(fake);
  return fake;
}

async function linear(options: LinearFakeOptions = {}): Promise<LinearFake> {
  const fake = await startLinearFake(options);
  fakes.push(fake);
  return fake;
}

interface Started {
  done: Promise<CliResult>;
  authorizeUrl: string;
}

/** Starts `pmsync login … --oauth --no-browser` and waits until it prints the authorize URL. */
async function startLogin(home: string, args: string[], input?: string): Promise<Started> {
  const child = spawnCli(args, { home, ...(input !== undefined ? { input } : {}) });
  const done = collect(child);
  const authorizeUrl = await new Promise<string>((resolve, reject) => {
    let seen = "";
    child.stderr!.on("data", (d: string | Buffer) => {
      seen += d.toString();
      const m = /approve pmsync:\s+(http\S+)/.exec(seen);
      if (m) resolve(m[1]!);
    });
    // Once resolved, this is a no-op.
    void done.then((r) => reject(new Error(`login ended before printing the URL (${r.code}): ${r.stderr}`)));
  });
  return { done, authorizeUrl };
}

/** The browser: GET the authorize URL, then follow the fake's redirect to the loopback callback. */
async function approve(authorizeUrl: string): Promise<Response> {
  const res = await fetch(authorizeUrl, { redirect: "manual" });
  expect(res.status, await res.clone().text()).toBe(302);
  return fetch(res.headers.get("location")!);
}

async function loggedIn(home: string, args: string[], input?: string): Promise<CliResult> {
  const login = await startLogin(home, args, input);
  const page = await approve(login.authorizeUrl);
  expect(page.status).toBe(200);
  const r = await login.done;
  expect(r.code, r.stderr).toBe(0);
  return r;
}

interface SavedSecret {
  type: string;
  token: string;
  refresh_token?: string;
  expires_at?: string;
  client_secret?: string;
}

function credentials(home: string, name: string): SavedSecret {
  return JSON.parse(readFileSync(join(home, "credentials.json"), "utf8"))[name] as SavedSecret;
}

function connection(home: string, name: string) {
  return JSON.parse(readFileSync(join(home, "config.json"), "utf8")).connections[name];
}

/** No secret in any file of the home but the credential store, nor in what the CLI printed. */
function expectSecretsOnlyInStore(home: string, secrets: string[], outputs: CliResult[]): void {
  const files = readdirSync(home).filter((f) => f !== "credentials.json");
  expect(files).toContain("config.json");
  expect(files).toContain("pmsync.db");
  for (const f of files) {
    const bytes = readFileSync(join(home, f));
    for (const s of secrets) expect(bytes.includes(s), `a secret in ${f}`).toBe(false);
  }
  for (const r of outputs) for (const s of secrets) expect(r.stdout + r.stderr).not.toContain(s);
}

/** The saved settings of an OAuth login through a fake with `--port 0`: endpoints, no secrets. */
function expectOAuthConnection(home: string, name: string, fake: { url: string; oauth: { clientId: string; authorizeUrl: string; tokenUrl: string } }, projects: string[]): void {
  expect(connection(home, name)).toMatchObject({
    auth: "oauth", secret_store: "file", site: fake.url, api_url: fake.url, projects,
    oauth: { client_id: fake.oauth.clientId, authorize_url: fake.oauth.authorizeUrl, token_url: fake.oauth.tokenUrl, port: 0, token_body: "form" },
  });
}

/** A first sync that pulls `pulled` issues. */
async function syncedAll(home: string, pulled: number): Promise<CliResult> {
  const { result, report } = await syncJson(home);
  expect(result.code, result.stderr).toBe(0);
  expect(report.runs[0]).toMatchObject({ status: "ok", pulled });
  return result;
}

async function statusOf(home: string) {
  return JSON.parse((await runCli(["status", "--json"], { home })).stdout).connections[0];
}

describe("pmsync login github --oauth (browser, loopback)", () => {
  const args = (fake: GitHubFake) => [
    "login", "github", "--oauth", "--client-id", fake.oauth.clientId, "--client-secret-stdin", "--site", fake.url,
    "--no-browser", "--port", "0", "--repo", "acme/api", "--insecure-storage",
  ];

  it("logs in with PKCE, syncs with the bearer token, and keeps the secrets in the secret store only", async () => {
    const fake = await github();
    const keys = fake.seed(8).filter((k) => k.startsWith("acme/api#"));
    const home = tempHome();
    const login = await loggedIn(home, args(fake), fake.oauth.clientSecret);
    expect(login.stdout).toContain('connection "github" (OAuth)');

    const authorize = fake.requests.find((r) => r.path === "/login/oauth/authorize")!;
    expect(authorize.query).toMatchObject({ client_id: fake.oauth.clientId, response_type: "code", scope: "repo", code_challenge_method: "S256" });
    expect(authorize.query.code_challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorize.query.redirect_uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    // The fake checks the verifier against the challenge and the secret: the exchange passed both.
    expect(fake.requests.filter((r) => r.path === "/login/oauth/access_token").map((r) => r.status)).toEqual([200]);

    const cred = credentials(home, "github");
    expect(cred).toMatchObject({ type: "oauth", client_secret: fake.oauth.clientSecret });
    expect(cred.token).toMatch(/^gho_/);
    expectOAuthConnection(home, "github", fake, ["acme/api"]);

    const result = await syncedAll(home, keys.length);
    expect(query<{ key: string }>(home, "SELECT key FROM issues ORDER BY key").map((r) => r.key).sort()).toEqual([...keys].sort());
    expect(await statusOf(home)).toMatchObject({ auth: "oauth", secret_store: "file", healthy: true });
    expectSecretsOnlyInStore(home, [fake.oauth.clientSecret, cred.token], [login, result]);
  });
});

describe("pmsync login linear --oauth (browser, loopback, PKCE)", () => {
  const args = (fake: LinearFake, extra: string[] = []) => [
    "login", "linear", "--oauth", "--client-id", fake.oauth.clientId, "--site", fake.url,
    "--no-browser", "--port", "0", "--project", "ENG", "--insecure-storage", ...extra,
  ];
  const tokenCalls = (fake: LinearFake) => fake.oauthRequests.filter((r) => r.path === "/oauth/token");

  it("logs in as a public client (no secret, PKCE) and syncs with the bearer token", async () => {
    const fake = await linear();
    const keys = fake.seed(9).filter((k) => k.startsWith("ENG-"));
    const home = tempHome();
    const login = await loggedIn(home, args(fake));
    expect(login.stdout).toContain('connection "linear" (OAuth)');

    const authorize = fake.oauthRequests.find((r) => r.path === "/oauth/authorize")!;
    expect(authorize.params).toMatchObject({
      client_id: fake.oauth.clientId, response_type: "code", scope: "read,write", prompt: "consent", code_challenge_method: "S256",
    });
    expect(authorize.params.redirect_uri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const [exchange] = tokenCalls(fake);
    expect(exchange).toMatchObject({ method: "POST", status: 200, contentType: "application/x-www-form-urlencoded" });
    expect(exchange!.params).toMatchObject({ grant_type: "authorization_code", client_id: fake.oauth.clientId, redirect_uri: authorize.params.redirect_uri });
    expect(exchange!.params.code_verifier).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(exchange!.params).not.toHaveProperty("client_secret");

    const cred = credentials(home, "linear");
    expect(cred.type).toBe("oauth");
    expect(cred.token).toMatch(/^lin_oauth_/);
    expect(cred.refresh_token).toMatch(/^lin_refresh_/);
    expect(cred).not.toHaveProperty("client_secret");
    expect(Date.parse(cred.expires_at!)).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expectOAuthConnection(home, "linear", fake, ["ENG"]);

    const result = await syncedAll(home, keys.length);
    // Every GraphQL call (verify and sync) carried the OAuth token as a bearer token.
    expect(new Set(fake.requests.map((r) => r.authorization))).toEqual(new Set([`Bearer ${cred.token}`]));
    expect(await statusOf(home)).toMatchObject({ auth: "oauth", secret_store: "file", token_refreshes: true, healthy: true });
    expectSecretsOnlyInStore(home, [cred.token, cred.refresh_token!], [login, result]);
  });

  it("a callback whose state was tampered with ends the login with exit 4 and saves nothing", async () => {
    const fake = await linear();
    const home = tempHome();
    const login = await startLogin(home, args(fake));
    const forged = new URL(login.authorizeUrl);
    forged.searchParams.set("state", "forged-state");
    const page = await approve(forged.toString()); // the fake sends the forged state back
    expect(page.status).toBe(400);
    const r = await login.done;
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("wrong state");
    expect(tokenCalls(fake)).toHaveLength(0); // the code was never exchanged
    expect(readdirSync(home)).not.toContain("config.json");
    expect(readdirSync(home)).not.toContain("credentials.json");
  });

  it("a user who refuses the consent ends the login with exit 4", async () => {
    const fake = await linear();
    const home = tempHome();
    fake.denyNextAuthorize();
    const login = await startLogin(home, args(fake));
    await approve(login.authorizeUrl);
    const r = await login.done;
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/refused: access_denied/);
    expect(readdirSync(home)).not.toContain("config.json");
  });

  it("uses the registered port 9877 when --port is not given", async () => {
    const fake = await linear();
    const home = tempHome();
    const r = await runCli(args(fake).filter((a, i, all) => a !== "--port" && all[i - 1] !== "--port").concat("--callback-timeout", "1"), { home });
    // 9877 may be busy on this machine: then the login says so instead of waiting.
    if (r.code === 2) expect(r.stderr).toContain("port 9877 on 127.0.0.1 is busy");
    else {
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`redirect_uri=${encodeURIComponent("http://127.0.0.1:9877/callback")}`);
    }
  });

  it("refreshes an expired access token on the next sync and saves the rotated refresh token", async () => {
    // Tokens that live 2 minutes: inside pmsync's refresh window from the start.
    const fake = await linear({ accessTokenTtlS: 120 });
    fake.seed(6);
    const home = tempHome();
    await loggedIn(home, args(fake));
    const file = join(home, "credentials.json");
    const stale = readFileSync(file, "utf8");
    const before = credentials(home, "linear");
    fake.expireAccessTokens(); // the old access token no longer works at all

    const { result, report } = await syncJson(home);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0].status).toBe("ok");
    expect(readFileSync(file, "utf8")).not.toBe(stale);
    const after = credentials(home, "linear");
    expect(after.token).not.toBe(before.token);
    expect(after.refresh_token).toMatch(/^lin_refresh_/);
    expect(after.refresh_token).not.toBe(before.refresh_token);
    const refresh = tokenCalls(fake).filter((r) => r.params.grant_type === "refresh_token");
    expect(refresh).toHaveLength(1);
    expect(refresh[0]).toMatchObject({ status: 200, contentType: "application/x-www-form-urlencoded", params: { client_id: fake.oauth.clientId, refresh_token: before.refresh_token } });
    expect(refresh[0]!.params).not.toHaveProperty("client_secret");
    expect(fake.requests.at(-1)!.authorization).toBe(`Bearer ${after.token}`);

    // The spent refresh token is refused by the server …
    const reuse = await fetch(fake.oauth.tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "refresh_token", client_id: fake.oauth.clientId, refresh_token: before.refresh_token! }),
    });
    expect(reuse.status).toBe(400);
    expect(await reuse.json()).toMatchObject({ error: "invalid_grant" });
    // … so a restored old secret makes sync fail with exit 4 naming the login command.
    writeFileSync(file, stale, { mode: 0o600 });
    const r = await runCli(["sync"], { home });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("pmsync login linear --oauth");
  });
});

describe("pmsync login linear --oauth --client-secret-stdin (confidential client)", () => {
  const args = (fake: LinearFake) => [
    "login", "linear", "--oauth", "--client-id", fake.oauth.clientId, "--client-secret-stdin", "--site", fake.url,
    "--no-browser", "--port", "0", "--project", "ENG", "--insecure-storage",
  ];

  it("sends the secret with the code and with each refresh, and keeps it out of config and cache", async () => {
    const fake = await linear({ accessTokenTtlS: 120 });
    const keys = fake.seed(6).filter((k) => k.startsWith("ENG-"));
    const home = tempHome();
    const login = await loggedIn(home, args(fake), fake.oauth.clientSecret);
    const calls = () => fake.oauthRequests.filter((r) => r.path === "/oauth/token");
    expect(calls()[0]!.params).toMatchObject({ grant_type: "authorization_code", client_secret: fake.oauth.clientSecret });
    expect(calls()[0]!.params.code_verifier).toBeTruthy(); // PKCE as well
    expect(credentials(home, "linear").client_secret).toBe(fake.oauth.clientSecret);

    const result = await syncedAll(home, keys.length); // refreshes (2-minute tokens)
    expect(calls()[1]!.params).toMatchObject({ grant_type: "refresh_token", client_secret: fake.oauth.clientSecret });
    expect(calls()[1]!.status).toBe(200);
    const cred = credentials(home, "linear");
    expectSecretsOnlyInStore(home, [fake.oauth.clientSecret, cred.token, cred.refresh_token!], [login, result]);
  });

  it("a wrong client secret is refused at the token exchange: exit 4, nothing saved", async () => {
    const fake = await linear();
    const home = tempHome();
    const login = await startLogin(home, args(fake), "not-the-secret");
    await approve(login.authorizeUrl);
    const r = await login.done;
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("Client authentication failed"); // the fake's invalid_client description
    expect(r.stderr).toContain("pmsync login linear --oauth");
    expect(r.stderr).not.toContain("not-the-secret");
    expect(readdirSync(home)).not.toContain("config.json");
  });
});

describe("the Linear fake's OAuth endpoints (what the CLI tests above rely on)", () => {
  const S256 = (v: string) => createHash("sha256").update(v).digest("base64url");
  const verifier = "v".repeat(43);
  const redirect = "http://127.0.0.1:9877/callback";

  async function authorize(fake: LinearFake, params: Record<string, string> = {}): Promise<Response> {
    const u = new URL(fake.oauth.authorizeUrl);
    const all = { client_id: fake.oauth.clientId, redirect_uri: redirect, response_type: "code", scope: "read,write", state: "st", code_challenge: S256(verifier), code_challenge_method: "S256", ...params };
    for (const [k, v] of Object.entries(all)) if (v !== "") u.searchParams.set(k, v); // "" leaves it out
    return fetch(u, { redirect: "manual" });
  }
  const back = (res: Response) => new URL(res.headers.get("location")!).searchParams;
  const token = (fake: LinearFake, params: Record<string, string>, json = false) =>
    fetch(fake.oauth.tokenUrl, {
      method: "POST",
      headers: { "content-type": json ? "application/json" : "application/x-www-form-urlencoded" },
      body: json ? JSON.stringify(params) : new URLSearchParams(params),
    });

  it("refuses unknown clients and unregistered callbacks with a page, bad parameters with a redirect", async () => {
    const fake = await linear();
    expect((await authorize(fake, { client_id: "nope" })).status).toBe(400);
    expect((await authorize(fake, { redirect_uri: "https://evil.example/callback" })).status).toBe(400);
    expect((await authorize(fake, { redirect_uri: "http://127.0.0.1:9877/elsewhere" })).status).toBe(400);
    expect(back(await authorize(fake, { scope: "read write" })).get("error")).toBe("invalid_scope"); // commas, not spaces
    expect(back(await authorize(fake, { code_challenge_method: "plain" })).get("error")).toBe("invalid_request");
    expect(back(await authorize(fake, { response_type: "token" })).get("error")).toBe("unsupported_response_type");
    const ok = back(await authorize(fake));
    expect(ok.get("state")).toBe("st");
    expect(ok.get("code")).toMatch(/^[0-9a-f]{32}$/);
  });

  it("exchanges a code once, only with its verifier and redirect_uri, and only from a form body", async () => {
    const fake = await linear();
    const code = back(await authorize(fake)).get("code")!;
    const grant = { grant_type: "authorization_code", client_id: fake.oauth.clientId, code, redirect_uri: redirect, code_verifier: verifier };
    const refused = async (res: Response, error: string) => {
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error });
    };
    await refused(await token(fake, grant, true), "invalid_request");
    await refused(await token(fake, { ...grant, code_verifier: "w".repeat(43) }), "invalid_grant");
    await refused(await token(fake, { ...grant, redirect_uri: "http://127.0.0.1:1/callback" }), "invalid_grant");
    await refused(await token(fake, { ...grant, client_secret: "wrong" }), "invalid_client");
    const res = await token(fake, grant);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; refresh_token: string; token_type: string; expires_in: number };
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 86_400, scope: ["read", "write"] });
    await refused(await token(fake, grant), "invalid_grant"); // single use
    // Without PKCE a client must authenticate with its secret.
    const bare = { ...grant, code: back(await authorize(fake, { code_challenge: "", code_challenge_method: "" })).get("code")!, code_verifier: "" };
    await refused(await token(fake, bare), "invalid_client");
    expect((await token(fake, { ...bare, client_secret: fake.oauth.clientSecret })).status).toBe(200);

    const gql = (auth: string) => fetch(`${fake.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization: auth }, body: JSON.stringify({ query: "{ viewer { id } }" }) });
    expect((await gql(`Bearer ${body.access_token}`)).status).toBe(200);
    fake.expireAccessTokens();
    expect(await (await gql(`Bearer ${body.access_token}`)).json()).toMatchObject({ errors: [{ extensions: { code: "AUTHENTICATION_ERROR" } }] });

    const refresh = { grant_type: "refresh_token", client_id: fake.oauth.clientId, refresh_token: body.refresh_token };
    const rotated = (await (await token(fake, refresh)).json()) as { access_token: string; refresh_token: string };
    expect(rotated.refresh_token).not.toBe(body.refresh_token);
    expect((await gql(`Bearer ${rotated.access_token}`)).status).toBe(200);
    await refused(await token(fake, refresh), "invalid_grant"); // rotated: the old one is spent
  });
});
