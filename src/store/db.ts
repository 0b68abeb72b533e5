// Opens the SQLite cache: refuses foreign or corrupt files (never overwrites them), creates new
// files 0600, sets WAL + busy timeout, and migrates to the latest schema.

import { closeSync, existsSync, openSync, readSync, statSync, chmodSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import type { Kysely, Migration, MigrationProvider } from "kysely";
import { StoreError, UsageError } from "../errors.js";
import type { Database } from "./schema.js";
import { m0001_init } from "./migrations/0001_init.js";
import { m0002_mappings } from "./migrations/0002_mappings.js";
import { m0003_status_counts } from "./migrations/0003_status_counts.js";

/** `PRAGMA application_id` of a pmsync cache: "PMSY". */
export const APPLICATION_ID = 0x504d5359;
const SQLITE_HEADER = "SQLite format 3\u0000";

/** The static list of migrations. Add new ones at the end; never edit a released one. */
const MIGRATIONS: Record<string, Migration> = {
  "0001_init": m0001_init,
  "0002_mappings": m0002_mappings,
  "0003_status_counts": m0003_status_counts,
};

class StaticMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const wrapped: Record<string, Migration> = {};
    for (const [name, m] of Object.entries(MIGRATIONS)) {
      // Each migration in its own transaction (kysely does not wrap DDL on SQLite itself).
      wrapped[name] = {
        up: (db) => (db.isTransaction ? m.up(db) : db.transaction().execute((trx) => m.up(trx))),
      };
    }
    return wrapped;
  }
}

export interface Store {
  /** The better-sqlite3 handle, for the hot paths (page writes, export streaming). */
  readonly sqlite: BetterSqlite3.Database;
  /** kysely over the same connection (loaded on first use: it costs ~100 ms of start-up). */
  db(): Promise<Kysely<Database>>;
  readonly path: string;
  close(): Promise<void>;
}

export async function openStore(path: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//i.test(path)) {
    throw new UsageError("PostgreSQL caches are not supported yet; use a SQLite file path for --db");
  }
  const isNew = prepareFile(path);
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(path, { fileMustExist: true });
  } catch (err) {
    throw describeOpenError(path, err);
  }
  try {
    sqlite.pragma("busy_timeout = 5000");
    checkOwnership(sqlite, path, isNew);
    // Issue rows carry a few KB of JSON: larger pages keep them on one page (set before the first
    // write; an existing file keeps its page size).
    if (isNew) sqlite.pragma("page_size = 16384");
    sqlite.pragma("journal_mode = WAL");
    // NORMAL in WAL mode: a commit survives a killed process; only a power loss may drop the
    // last commits, and never corrupts the file. The cache can always be re-pulled.
    sqlite.pragma("synchronous = NORMAL");
    // Checkpoint at 128 MB of WAL (16 KB pages) instead of 16 MB: a B-tree page rewritten by many
    // commits of a sync is copied into the file once, not once per checkpoint (a 100k full pull
    // spends ~20 % less on writes). The last connection to close checkpoints what is left, and
    // the WAL file is cut back to 32 MB afterwards.
    sqlite.pragma("wal_autocheckpoint = 8000");
    sqlite.pragma(`journal_size_limit = ${32 * 1024 * 1024}`);
  } catch (err) {
    sqlite.close();
    throw describeOpenError(path, err);
  }

  let kdb: Kysely<Database> | null = null;
  const db = async () => {
    if (!kdb) {
      const { Kysely, SqliteDialect } = await import("kysely");
      kdb = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    }
    return kdb;
  };
  try {
    if (pendingMigrations(sqlite)) await migrate(await db(), path);
    if (isNew || sqlite.pragma("application_id", { simple: true }) === 0) {
      sqlite.pragma(`application_id = ${APPLICATION_ID}`);
    }
  } catch (err) {
    if (kdb) await (kdb as Kysely<Database>).destroy();
    else sqlite.close();
    throw err;
  }
  return {
    sqlite,
    db,
    path,
    close: async () => {
      if (kdb) await kdb.destroy();
      else if (sqlite.open) sqlite.close();
    },
  };
}

/** True when a migration of the static list has not run yet (cheap: no kysely needed). */
function pendingMigrations(sqlite: BetterSqlite3.Database): boolean {
  const has = sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kysely_migration'").get();
  if (!has) return true;
  const done = new Set(sqlite.prepare("SELECT name FROM kysely_migration").pluck().all() as string[]);
  return Object.keys(MIGRATIONS).some((m) => !done.has(m));
}

async function migrate(db: Kysely<Database>, path: string): Promise<void> {
  const { Migrator } = await import("kysely");
  const migrator = new Migrator({ db, provider: new StaticMigrations() });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error || failed) {
    throw new StoreError(
      `cannot migrate the cache ${path}${failed ? ` (migration ${failed.migrationName})` : ""}: ${(error as Error)?.message ?? "unknown error"}`,
      { cause: error },
    );
  }
}

/** Creates a missing file with mode 0600 before SQLite sees it; validates an existing one. */
function prepareFile(path: string): boolean {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    closeSync(openSync(path, "wx", 0o600));
    chmodSync(path, 0o600);
    return true;
  }
  const st = statSync(path);
  if (!st.isFile()) throw new StoreError(`${path} is not a file`);
  if (st.size === 0) return true;
  const fd = openSync(path, "r");
  const header = Buffer.alloc(16);
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString("latin1") !== SQLITE_HEADER) {
    throw new StoreError(`${path} is not a SQLite database (corrupt, or some other file); pmsync left it untouched`, {
      hint: "move it aside and run the command again, or point --db / PMSYNC_DB at another file",
    });
  }
  return false;
}

function checkOwnership(sqlite: BetterSqlite3.Database, path: string, isNew: boolean): void {
  const appId = sqlite.pragma("application_id", { simple: true }) as number;
  if (appId === APPLICATION_ID) return;
  if (appId !== 0) {
    throw new StoreError(`${path} belongs to another application (application_id ${appId}); pmsync left it untouched`, {
      hint: "point --db / PMSYNC_DB at a pmsync cache file",
    });
  }
  if (isNew) return;
  const tables = sqlite
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .pluck()
    .all() as string[];
  const ours = tables.length === 0 || tables.includes("kysely_migration");
  if (!ours) {
    throw new StoreError(`${path} is a SQLite database of another application (tables: ${tables.slice(0, 5).join(", ")}); pmsync left it untouched`, {
      hint: "point --db / PMSYNC_DB at a pmsync cache file",
    });
  }
}

function describeOpenError(path: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: string }).code ?? "";
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
    return new StoreError(`the cache ${path} is corrupt (${(err as Error).message}); pmsync left it untouched`, {
      hint: "move it aside and run `pmsync sync --full` to rebuild it",
      cause: err,
    });
  }
  return new StoreError(`cannot open the cache ${path}: ${(err as Error).message}`, { cause: err });
}
