// Non-secret settings live in PMSYNC_HOME/config.json (0600, SPEC §4). Secrets never do.

import { mkdirSync, readFileSync, renameSync, writeFileSync, chmodSync, existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { PmsyncError, UsageError } from "./errors.js";

export interface ConnectionConfig {
  provider: string;
  /** The instance a person knows: a Jira site URL, a Redmine URL … */
  site: string;
  /** Where API calls go, when different from `site` (proxies, OAuth gateways). */
  api_url?: string;
  email?: string;
  auth: "api_token" | "oauth";
  /**
   * Projects in scope (Jira project keys, GitHub `owner/name` repositories, Linear team keys,
   * Redmine project identifiers); empty means everything the account can see.
   */
  projects: string[];
  /** Provider-specific settings that are not secrets (e.g. GitHub `owner` for all its repos). */
  options?: Record<string, string>;
  enabled: boolean;
  disabled_reason?: string;
  /** Failed syncs in a row after which the connection is disabled (default 5; 0 = never). */
  auto_disable_after?: number;
  /** Where the secret was saved at login. */
  secret_store: "keychain" | "file" | "env";
  /** OAuth settings (no secrets): endpoints, client id, the fixed callback port, Jira's cloud id. */
  oauth?: {
    client_id: string;
    authorize_url: string;
    token_url: string;
    api_base: string;
    port: number;
    cloud_id?: string;
    /** How the token endpoint takes parameters (default json; Linear: form). */
    token_body?: "form" | "json";
  };
  account?: { id: string; name: string; email: string | null; time_zone: string | null };
  created_at: string;
  updated_at: string;
}

export interface ConfigFile {
  version: 1;
  connections: Record<string, ConnectionConfig>;
}

export interface Paths {
  home: string;
  config: string;
  db: string;
  /** The insecure file credential store (only used after `--insecure-storage`). */
  credentials: string;
}

/** PMSYNC_HOME (or --home) holds everything; otherwise the platform's config directory. */
export function resolvePaths(home: string | undefined, db: string | undefined): Paths {
  const dir = home ?? process.env.PMSYNC_HOME ?? defaultHome();
  return {
    home: dir,
    config: join(dir, "config.json"),
    db: db ?? process.env.PMSYNC_DB ?? join(dir, "pmsync.db"),
    credentials: join(dir, "credentials.json"),
  };
}

function defaultHome(): string {
  if (process.platform === "win32") return join(process.env.APPDATA ?? join(homedir(), "AppData", "Roaming"), "pmsync");
  if (process.platform === "darwin") return join(homedir(), "Library", "Application Support", "pmsync");
  return join(process.env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "pmsync");
}

export function ensureHome(paths: Paths): void {
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
}

export function loadConfig(paths: Paths): ConfigFile {
  if (!existsSync(paths.config)) return { version: 1, connections: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(paths.config, "utf8"));
  } catch (err) {
    throw new PmsyncError(`cannot read ${paths.config}: ${(err as Error).message}`, {
      hint: "fix or remove the file; it holds connection settings only (no secrets)",
    });
  }
  if (!parsed || typeof parsed !== "object" || (parsed as ConfigFile).version !== 1) {
    throw new PmsyncError(`${paths.config} is not a pmsync config file (expected {"version": 1, …})`);
  }
  const cfg = parsed as ConfigFile;
  cfg.connections ??= {};
  return cfg;
}

/** Written to a temporary file and renamed, so a crash never leaves half a config. */
export function saveConfig(paths: Paths, cfg: ConfigFile): void {
  ensureHome(paths);
  const tmp = `${paths.config}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(cfg, null, 2) + "\n", { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, paths.config);
}

export const DEFAULT_AUTO_DISABLE_AFTER = 5;

export function getConnection(cfg: ConfigFile, name: string): ConnectionConfig {
  const conn = cfg.connections[name];
  if (!conn) {
    const known = Object.keys(cfg.connections);
    throw new UsageError(`no connection named "${name}"`, {
      hint: known.length ? `known connections: ${known.join(", ")}` : "create one with `pmsync login <provider>`",
    });
  }
  return conn;
}

/** Connection names become env variable suffixes and keychain accounts: keep them simple. */
export function validateConnectionName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new UsageError(`invalid connection name "${name}": use letters, digits, '.', '_' or '-' (at most 64)`);
  }
  return name;
}
