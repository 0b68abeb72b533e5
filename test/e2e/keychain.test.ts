// The OS keychain: a keychain that never answers must not hang pmsync (ANCHORS §2 items 1–4),
// and the real one (gnome-keyring in a D-Bus session, set up by .ci/run) must hold the secret
// and nothing else may.

import { createServer, type Server } from "node:net";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSandbox, type SandboxHandle } from "../../src/sandbox/index.js";
import { runCli, tempHome } from "../helpers/cli.js";

const sandboxes: SandboxHandle[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
  for (const s of servers.splice(0)) s.close();
});

/** A "session bus" that accepts connections and never says a word. */
async function deadBus(): Promise<string> {
  const path = join(tmpdir(), `pmsync-dead-bus-${process.pid}-${Date.now()}.sock`);
  const server = createServer((socket) => socket.on("data", () => undefined));
  servers.push(server);
  await new Promise<void>((r) => server.listen(path, r));
  return `unix:path=${path}`;
}

describe("a keychain that never answers", () => {
  it("login gives up after the timeout, exits 1, names the alternatives and saves nothing", async () => {
    const sb = await startSandbox({ issues: 10 });
    sandboxes.push(sb);
    const home = tempHome();
    const r = await runCli(["login", "jira", "--site", sb.url, "--email", sb.email, "--token-stdin"], {
      home,
      input: sb.apiToken,
      env: { DBUS_SESSION_BUS_ADDRESS: await deadBus() },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("keychain did not answer within 3 s");
    expect(r.stderr).toContain("PMSYNC_TOKEN_JIRA");
    expect(r.stderr).toContain("--insecure-storage");
    expect(readdirSync(home)).not.toContain("config.json");
  });

  it("sync fails within the timeout instead of hanging, and the env variable still works", async () => {
    const sb = await startSandbox({ issues: 10 });
    sandboxes.push(sb);
    const home = tempHome();
    const now = new Date().toISOString();
    const config = {
      version: 1,
      connections: {
        jira: { provider: "jira", site: sb.url, email: sb.email, auth: "api_token", projects: [], enabled: true, secret_store: "keychain", created_at: now, updated_at: now },
      },
    };
    writeFileSync(join(home, "config.json"), JSON.stringify(config), { mode: 0o600 });
    const bus = await deadBus();
    const r = await runCli(["sync"], { home, env: { DBUS_SESSION_BUS_ADDRESS: bus } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("keychain did not answer within 3 s (read)");
    const withEnv = await runCli(["sync"], { home, env: { DBUS_SESSION_BUS_ADDRESS: bus, PMSYNC_TOKEN_JIRA: sb.apiToken } });
    expect(withEnv.code, withEnv.stderr).toBe(0);
  });
});

// .ci/run runs the suite inside `dbus-run-session` with an unlocked gnome-keyring and sets this.
const realKeychain = process.env.PMSYNC_TEST_KEYCHAIN === "1";

describe.runIf(realKeychain)("the real OS keychain (gnome-keyring)", () => {
  it("login stores the token in the keychain only; sync reads it; logout deletes it", async () => {
    const sb = await startSandbox({ issues: 25 });
    sandboxes.push(sb);
    const home = tempHome();
    const env = { DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS };
    const login = await runCli(["login", "jira", "--site", sb.url, "--email", sb.email, "--token-stdin"], { home, input: sb.apiToken, env });
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain("OS keychain");
    const sync = await runCli(["sync", "--json"], { home, env });
    expect(sync.code, sync.stderr).toBe(0);
    expect(JSON.parse(sync.stdout).runs[0].pulled).toBe(25);
    // no file under PMSYNC_HOME holds the secret (config, cache, WAL, anything)
    for (const f of readdirSync(home)) expect(readFileSync(join(home, f)).includes(sb.apiToken), f).toBe(false);
    expect(readdirSync(home)).not.toContain("credentials.json");

    const doc = JSON.parse((await runCli(["doctor", "--json"], { home, env })).stdout) as { check: string; status: string; detail: string }[];
    expect(doc.find((c) => c.check === "keychain")).toMatchObject({ status: "ok" });
    expect(doc.find((c) => c.check === "connection jira")?.detail).toContain("secret in keychain");
    const out = await runCli(["logout", "jira"], { home, env });
    expect(out.stdout).toContain("secrets removed from the keychain");
    // the keychain entry is gone: sync finds no credentials → exit 4
    const again = await runCli(["sync"], { home, env });
    expect(again.code).toBe(4);
    expect(again.stderr).toContain("pmsync login jira");
  });
});
