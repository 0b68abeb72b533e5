// OAuth 2.0 login (Jira 3LO) through the built CLI against the sandbox's authorization server:
// the test plays the browser by following the printed authorize URL to the loopback callback.

import { createServer, type Server } from "node:net";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxHandle } from "../../src/sandbox/index.js";
import { collect, runCli, scalar, spawnCli, syncJson, tempHome, type CliResult } from "../helpers/cli.js";

const sandboxes: SandboxHandle[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
  for (const s of servers.splice(0)) s.close();
});

async function sandbox(): Promise<SandboxHandle> {
  const sb = await startSandbox({ issues: 40 });
  sandboxes.push(sb);
  return sb;
}

function oauthArgs(sb: SandboxHandle, extra: string[] = []): string[] {
  return [
    "login", "jira", "--oauth", "--client-id", "sandbox-client", "--client-secret-stdin", "--no-browser",
    "--port", "0", "--authorize-url", `${sb.url}/authorize`, "--token-url", `${sb.url}/oauth/token`, "--api-url", sb.url,
    "--insecure-storage", ...extra,
  ];
}

/** Starts `pmsync login --oauth` and waits until it prints the authorize URL. */
async function startLogin(home: string, sb: SandboxHandle, extra: string[] = []) {
  const child = spawnCli(oauthArgs(sb, extra), { home, input: "sandbox-secret" });
  const done = collect(child);
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const authorizeUrl = await new Promise<string>((resolve, reject) => {
    const poll = setInterval(() => {
      const m = /(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/.exec(stderr);
      if (m) {
        clearInterval(poll);
        resolve(m[1]!);
      }
    }, 20);
    void done.then((r) => {
      clearInterval(poll);
      reject(new Error(`login ended before printing the URL (${r.code}): ${r.stderr}`));
    });
  });
  const params = new URL(authorizeUrl).searchParams;
  return { done, authorizeUrl, redirectUri: params.get("redirect_uri")!, state: params.get("state")! };
}

/** The browser: GET the authorize URL, then follow its redirect to the loopback callback. */
async function approve(authorizeUrl: string): Promise<Response> {
  const res = await fetch(authorizeUrl, { redirect: "manual" });
  expect(res.status).toBe(302);
  return fetch(res.headers.get("location")!);
}

async function loggedIn(home: string, sb: SandboxHandle, extra: string[] = []): Promise<CliResult> {
  const login = await startLogin(home, sb, extra);
  const page = await approve(login.authorizeUrl);
  expect(page.status).toBe(200);
  const r = await login.done;
  expect(r.code, r.stderr).toBe(0);
  return r;
}

function credentials(home: string) {
  return JSON.parse(readFileSync(join(home, "credentials.json"), "utf8")).jira as { token: string; refresh_token: string; expires_at: string };
}

describe("OAuth login (authorization code + PKCE + loopback)", () => {
  it("logs in through the browser flow and syncs through the gateway; secrets only in the secret store", async () => {
    const sb = await sandbox();
    const home = tempHome();
    const r = await loggedIn(home, sb, ["--verbose"]);
    expect(r.stdout).toContain('connection "jira" (OAuth)');
    expect(r.stderr).toContain("/oauth/token"); // --verbose shows the token exchange …
    const config = JSON.parse(readFileSync(join(home, "config.json"), "utf8")).connections.jira;
    expect(config).toMatchObject({ auth: "oauth", site: sb.url, api_url: `${sb.url}/ex/jira/${sb.cloudId}`, oauth: { client_id: "sandbox-client", cloud_id: sb.cloudId } });
    const { report } = await syncJson(home);
    expect(report.runs[0]).toMatchObject({ status: "ok", pulled: 40 });
    const cred = credentials(home);
    expect(cred.refresh_token).toBeTruthy();
    for (const f of readdirSync(home).filter((f) => f !== "credentials.json")) {
      const bytes = readFileSync(join(home, f));
      for (const s of [cred.token, cred.refresh_token, "sandbox-secret"]) expect(bytes.includes(s), `${s} in ${f}`).toBe(false);
    }
    for (const s of [cred.token, cred.refresh_token, "sandbox-secret"]) expect(r.stderr + r.stdout).not.toContain(s); // … without secrets
    const st = JSON.parse((await runCli(["status", "--json"], { home })).stdout).connections[0];
    expect(st).toMatchObject({ auth: "oauth", secret_store: "file", token_refreshes: true, healthy: true });
    expect(Date.parse(st.token_expires_at)).toBeGreaterThan(Date.now());
    // the token exchange and accessible-resources count in usage
    expect(scalar(home, "SELECT sum(requests) FROM api_usage WHERE endpoint IN ('oauth_token', 'resources')")).toBe(2);
  });

  it("a callback with the wrong state ends the login at once with exit 4", async () => {
    const sb = await sandbox();
    const home = tempHome();
    const login = await startLogin(home, sb);
    const page = await fetch(`${login.redirectUri}?code=stolen&state=not-the-state`);
    expect(await page.text()).not.toContain("stolen"); // the page reflects nothing from the request
    const r = await login.done;
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("wrong state");
    expect(readdirSync(home)).not.toContain("config.json");
  });

  it("error=access_denied ends the login with exit 4", async () => {
    const sb = await sandbox();
    const home = tempHome();
    const login = await startLogin(home, sb);
    await fetch(`${login.redirectUri}?error=access_denied&error_description=User%20did%20not%20authorize&state=${login.state}`);
    const r = await login.done;
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/refused: access_denied/);
  });

  it("gives up when the browser never comes back (--callback-timeout)", async () => {
    const sb = await sandbox();
    const home = tempHome();
    const r = await runCli(oauthArgs(sb, ["--callback-timeout", "1"]), { home, input: "sandbox-secret" });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("no answer from the browser within 1 s");
  });

  it("a busy callback port is a clear usage error", async () => {
    const sb = await sandbox();
    const home = tempHome();
    const busy = createServer();
    servers.push(busy);
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as { port: number }).port;
    const args = oauthArgs(sb).map((a, i, all) => (all[i - 1] === "--port" ? String(port) : a));
    const r = await runCli(args, { home, input: "sandbox-secret" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is busy`);
  });
});

describe("OAuth refresh", () => {
  it("refreshes an expiring access token and stores the rotated refresh token before using it", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await loggedIn(home, sb);
    const before = credentials(home);
    const file = join(home, "credentials.json");
    const all = JSON.parse(readFileSync(file, "utf8"));
    all.jira.expires_at = new Date(Date.now() + 60_000).toISOString(); // inside the refresh window
    writeFileSync(file, JSON.stringify(all), { mode: 0o600 });
    sb.control.expireAccessTokens(); // the old access token no longer works at all
    const { result, report } = await syncJson(home);
    expect(result.code, result.stderr).toBe(0);
    expect(report.runs[0].status).toBe("ok");
    const after = credentials(home);
    expect(after.refresh_token).not.toBe(before.refresh_token);
    expect(after.token).not.toBe(before.token);
    expect(Date.parse(after.expires_at)).toBeGreaterThan(Date.now() + 30 * 60_000);
  });

  it("reusing an old refresh token revokes the family: exit 4 naming `pmsync login jira --oauth`", async () => {
    const sb = await sandbox();
    const home = tempHome();
    await loggedIn(home, sb);
    const file = join(home, "credentials.json");
    const stale = JSON.parse(readFileSync(file, "utf8"));
    stale.jira.expires_at = new Date(Date.now() - 1000).toISOString();
    writeFileSync(file, JSON.stringify(stale), { mode: 0o600 });
    expect((await runCli(["sync"], { home })).code).toBe(0); // refreshes: the old refresh token is now spent
    writeFileSync(file, JSON.stringify(stale), { mode: 0o600 }); // someone restores the old secret
    const r = await runCli(["sync"], { home });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("pmsync login jira --oauth");
  });
});
