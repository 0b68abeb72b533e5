// What a command may use: IO, paths, config, the cache, credentials and an HTTP client factory.
// Everything heavy is opened lazily, so `pmsync --help` touches neither the database nor the
// keychain.

import type { Dispatcher } from "undici";
import { Credentials, type Secret, type SecretSource } from "../auth/credentials.js";
import { ensureHome, getConnection, loadConfig, resolvePaths, saveConfig, type ConfigFile, type ConnectionConfig, type Paths } from "../config.js";
import { AuthError } from "../errors.js";
import type { HttpClient } from "../http/client.js";
import { UsageRecorder } from "../http/usage.js";
import { needsRefresh, refreshSecret } from "../auth/oauth/refresh.js";
import { connectionHttp, loginHint, type HttpSettings } from "../providers/http.js";
import type { Store } from "../store/db.js";
import type { IO } from "./io.js";

export interface GlobalOptions {
  home?: string;
  db?: string;
}

export type { HttpSettings };

export class AppContext {
  readonly paths: Paths;
  readonly credentials: Credentials;
  private cfg: ConfigFile | null = null;
  private storePromise: Promise<Store> | null = null;
  /** Tests and the bench may inject a dispatcher; by default undici's global one is used. */
  dispatcher: Dispatcher | undefined;

  constructor(
    readonly io: IO,
    global: GlobalOptions,
  ) {
    this.paths = resolvePaths(global.home, global.db);
    this.credentials = new Credentials(this.paths);
  }

  config(): ConfigFile {
    this.cfg ??= loadConfig(this.paths);
    return this.cfg;
  }

  connection(name: string): ConnectionConfig {
    return getConnection(this.config(), name);
  }

  saveConfig(cfg: ConfigFile): void {
    saveConfig(this.paths, cfg);
    this.cfg = cfg;
  }

  store(): Promise<Store> {
    if (!this.storePromise) {
      ensureHome(this.paths);
      this.storePromise = import("../store/db.js").then((m) => m.openStore(this.paths.db));
    }
    return this.storePromise;
  }

  async close(): Promise<void> {
    if (this.storePromise) {
      const s = await this.storePromise.catch(() => null);
      this.storePromise = null;
      await s?.close();
    }
  }

  /**
   * The secret of a saved connection, or an AuthError that names the login command. An OAuth
   * access token close to expiry is refreshed here, and the rotated tokens saved before use.
   */
  async secretFor(name: string, conn: ConnectionConfig): Promise<{ secret: Secret; source: SecretSource }> {
    const found = await this.credentials.get(name, conn.secret_store);
    if (!found) {
      throw new AuthError(`no credentials for connection "${name}"`, { hint: `run \`${loginHint(name, conn)}\`` });
    }
    if (found.source === "env" || !needsRefresh(found.secret)) return found;
    const usage = new UsageRecorder();
    try {
      const secret = await refreshSecret({
        name,
        conn,
        secret: found.secret,
        usage,
        loginHint: loginHint(name, conn),
        log: this.verboseLog(),
        save: (s) => this.credentials.save(name, s, found.source === "file" ? "file" : "keychain"),
      });
      return { secret, source: found.source };
    } finally {
      const { SyncStore } = await import("../store/sync-store.js");
      new SyncStore(await this.store()).flushUsage(name, usage.drain());
    }
  }

  /** The --verbose request logger (secrets are redacted by the HTTP client), or undefined. */
  verboseLog(): ((line: string) => void) | undefined {
    return this.io.flags.verbose ? (line: string) => this.io.debug(line) : undefined;
  }

  http(name: string, conn: ConnectionConfig, secret: Secret, usage: UsageRecorder, settings?: Partial<HttpSettings>): HttpClient {
    return connectionHttp({
      name,
      conn,
      secret,
      usage,
      ...(settings ? { settings } : {}),
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
      log: this.verboseLog(),
    });
  }
}

export function newUsage(): UsageRecorder {
  return new UsageRecorder();
}
