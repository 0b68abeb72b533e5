// Where secrets live (SPEC §4). Lookup order: env PMSYNC_TOKEN_<NAME> → OS keychain → the
// insecure file store (only if the user chose it at login). Every keychain call is bounded by a
// timeout so a keychain that never answers (WSL, SSH, cron) cannot hang a run.

import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CredentialStoreError, PmsyncError } from "../errors.js";
import type { Paths } from "../config.js";

export const KEYCHAIN_SERVICE = "pmsync";
const KEYCHAIN_TIMEOUT_MS = 3000;

export interface Secret {
  type: "api_token" | "oauth";
  /** API token / personal access token, or the OAuth access token. */
  token: string;
  refresh_token?: string;
  expires_at?: string;
  client_secret?: string;
}

export type SecretSource = "env" | "keychain" | "file";

export function envVarName(connection: string): string {
  return `PMSYNC_TOKEN_${connection.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/**
 * The OS keychain through @napi-rs/keyring, every call bounded by a timeout. Each call runs in a
 * short-lived child process: a keychain that never answers blocks inside the native module where
 * no in-process timer can interrupt it, and would also keep the process from exiting. The child
 * is killed when the time is up, so pmsync reports the problem and goes on.
 */
export class Keychain {
  constructor(private readonly timeoutMs = KEYCHAIN_TIMEOUT_MS) {}

  /** Why the keychain cannot be used here, or null when it is worth asking. */
  unavailableReason(): string | null {
    if (process.platform === "linux" && !process.env.DBUS_SESSION_BUS_ADDRESS) {
      return "no D-Bus session (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service keychain is reachable";
    }
    return null;
  }

  private call(what: string, request: { op: "get" | "set" | "delete"; account: string; value?: string }): Promise<unknown> {
    const hint = `set ${envVarName(request.account)} in the environment, or log in again with --insecure-storage`;
    const reason = this.unavailableReason();
    if (reason) return Promise.reject(new CredentialStoreError(`keychain unavailable: ${reason}`, { hint }));
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [fileURLToPath(new URL("./keychain-child.js", import.meta.url))], {
        stdio: ["pipe", "pipe", "ignore"],
      });
      let out = "";
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        settle(() => reject(new CredentialStoreError(`keychain did not answer within ${this.timeoutMs / 1000} s (${what})`, { hint })));
      }, this.timeoutMs);
      child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
      child.on("error", (err) => settle(() => reject(new CredentialStoreError(`keychain ${what} failed: ${err.message}`, { hint }))));
      child.on("close", () =>
        settle(() => {
          try {
            const reply = JSON.parse(out) as { ok: boolean; result?: unknown; error?: string };
            if (reply.ok) resolve(reply.result);
            else reject(new CredentialStoreError(`keychain ${what} failed: ${reply.error}`, { hint }));
          } catch {
            reject(new CredentialStoreError(`keychain ${what} failed (no answer from the keychain helper)`, { hint }));
          }
        }),
      );
      child.stdin!.end(JSON.stringify({ ...request, service: KEYCHAIN_SERVICE }));
    });
  }

  async get(account: string): Promise<string | null> {
    return (await this.call("read", { op: "get", account })) as string | null;
  }

  async set(account: string, value: string): Promise<void> {
    await this.call("write", { op: "set", account, value });
  }

  async delete(account: string): Promise<boolean> {
    return Boolean(await this.call("delete", { op: "delete", account }));
  }
}

/** The 0600 JSON file a user opts into with `--insecure-storage`. */
export class FileSecretStore {
  constructor(private readonly path: string) {}

  private read(): Record<string, Secret> {
    if (!existsSync(this.path)) return {};
    try {
      return JSON.parse(readFileSync(this.path, "utf8")) as Record<string, Secret>;
    } catch (err) {
      throw new CredentialStoreError(`cannot read ${this.path}: ${(err as Error).message}`);
    }
  }

  get(account: string): Secret | null {
    return this.read()[account] ?? null;
  }

  set(account: string, secret: Secret): void {
    const all = this.read();
    all[account] = secret;
    this.write(all);
  }

  delete(account: string): boolean {
    const all = this.read();
    if (!(account in all)) return false;
    delete all[account];
    this.write(all);
    return true;
  }

  /** Written to a temporary file and renamed, so a crash never leaves half a file. */
  private write(all: Record<string, Secret>): void {
    // The first login may come before anything else created PMSYNC_HOME.
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all, null, 2) + "\n", { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }
}

export class Credentials {
  readonly keychain: Keychain;
  readonly file: FileSecretStore;
  constructor(paths: Paths, keychain = new Keychain()) {
    this.keychain = keychain;
    this.file = new FileSecretStore(paths.credentials);
  }

  /** Finds the secret for a connection, following the lookup order. */
  async get(connection: string, preferred: SecretSource): Promise<{ secret: Secret; source: SecretSource } | null> {
    const fromEnv = process.env[envVarName(connection)];
    if (fromEnv) return { secret: { type: "api_token", token: fromEnv }, source: "env" };
    if (preferred === "keychain") {
      const raw = await this.keychain.get(connection);
      if (raw) return { secret: parseSecret(raw, connection), source: "keychain" };
      return null;
    }
    if (preferred === "file") {
      const s = this.file.get(connection);
      return s ? { secret: s, source: "file" } : null;
    }
    return null;
  }

  async save(connection: string, secret: Secret, where: "keychain" | "file"): Promise<void> {
    if (where === "file") this.file.set(connection, secret);
    else await this.keychain.set(connection, JSON.stringify(secret));
  }

  /** Removes the secret from wherever it may be; returns the places it was removed from. */
  async remove(connection: string): Promise<SecretSource[]> {
    const removed: SecretSource[] = [];
    if (this.file.delete(connection)) removed.push("file");
    if (!this.keychain.unavailableReason()) {
      try {
        if (await this.keychain.delete(connection)) removed.push("keychain");
      } catch {
        // A keychain that cannot be reached holds nothing we can remove; status/doctor report it.
      }
    }
    return removed;
  }
}

function parseSecret(raw: string, connection: string): Secret {
  try {
    const s = JSON.parse(raw) as Secret;
    if (typeof s.token === "string") return s;
  } catch {
    // fall through
  }
  throw new PmsyncError(`the keychain entry for "${connection}" is not a pmsync secret`, {
    hint: `run \`pmsync login\` again for this connection`,
  });
}
