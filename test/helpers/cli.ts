// Runs the built CLI as a subprocess, the way users and cron run it.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { onTestFinished } from "vitest";

export const BIN = resolve(__dirname, "../../bin/pmsync.js");

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  home?: string;
  env?: Record<string, string | undefined>;
  input?: string;
}

/** A clean environment: no inherited pmsync settings, no keychain, no colours. */
export function cliEnv(opts: CliOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("PMSYNC_") || k === "DBUS_SESSION_BUS_ADDRESS" || k === "FORCE_COLOR") continue;
    env[k] = v;
  }
  env.NO_COLOR = "1";
  if (opts.home) env.PMSYNC_HOME = opts.home;
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function spawnCli(args: string[], opts: CliOptions = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(opts), stdio: ["pipe", "pipe", "pipe"] });
  child.stdin!.end(opts.input ?? "");
  return child;
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((res, rej) => {
    child.on("error", rej);
    child.on("close", (code, signal) => res({ code, signal, stdout, stderr }));
  });
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return collect(spawnCli(args, opts));
}

export function tempHome(): string {
  const dir = mkdtempSync(join(tmpdir(), "pmsync-test-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function openDb(home: string): Database.Database {
  return new Database(join(home, "pmsync.db"), { readonly: true, fileMustExist: true });
}

export function query<T = Record<string, unknown>>(home: string, sql: string, ...params: unknown[]): T[] {
  const db = openDb(home);
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

export function scalar<T = number>(home: string, sql: string, ...params: unknown[]): T {
  const db = openDb(home);
  try {
    return db.prepare(sql).pluck().get(...params) as T;
  } finally {
    db.close();
  }
}

export async function loginSandbox(
  home: string,
  sb: { url: string; email: string; apiToken: string },
  extra: string[] = [],
): Promise<CliResult> {
  const r = await runCli(["login", "jira", "--site", sb.url, "--email", sb.email, "--token-stdin", "--insecure-storage", ...extra], {
    home,
    input: sb.apiToken,
  });
  if (r.code !== 0) throw new Error(`login failed (${r.code}): ${r.stderr}`);
  return r;
}

export async function syncJson(home: string, args: string[] = [], opts: CliOptions = {}): Promise<{ result: CliResult; report: any }> {
  const result = await runCli(["sync", "--json", ...args], { home, ...opts });
  let report: any = null;
  try {
    report = JSON.parse(result.stdout);
  } catch {
    // left null: the test asserts on it
  }
  return { result, report };
}
