// Runs the built CLI inside a real pseudo-terminal, through util-linux `script` (in every Debian
// install: package bsdutils, Essential): stdin, stdout and stderr are the pty, so the CLI sees a
// terminal exactly as a person's shell gives it one (prompts, colours, spinners, tables).

import { spawn } from "node:child_process";
import { BIN, cliEnv, type CliOptions } from "./cli.js";

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
// ANSI escapes (colours, cursor moves) and carriage returns, for matching on plain text.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]|\u001b\][^\u0007]*\u0007|\r/g;

export interface PtySession {
  /** Everything the terminal showed so far, escapes included. */
  readonly raw: () => string;
  /** What the terminal showed, without escapes. */
  readonly text: () => string;
  /** Resolves when the plain text contains `what`; rejects after `timeoutMs` with the screen. */
  waitFor(what: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Types into the terminal (use "\r" for Enter, "\u001b[B" for the down arrow). */
  send(keys: string): void;
  /** The CLI's exit code (script -e passes it through). */
  readonly exit: Promise<number | null>;
}

export function spawnPty(args: string[], opts: CliOptions & { cols?: number } = {}): PtySession {
  const env = cliEnv(opts);
  // A real terminal has colour unless the user says otherwise.
  if (!opts.env || !("NO_COLOR" in opts.env)) delete env.NO_COLOR;
  env.TERM = "xterm-256color";
  // A person's terminal, not a CI log: with CI set, ora and cli-table3's colour detection turn
  // themselves off (the CI runner sets it for the whole test run).
  delete env.CI;
  delete env.CONTINUOUS_INTEGRATION;
  const cmd = `stty cols ${opts.cols ?? 120} rows 40; exec ${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(" ")}`;
  const child = spawn("script", ["-qefc", cmd, "/dev/null"], { env, stdio: ["pipe", "pipe", "pipe"] });
  let raw = "";
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    raw += d.toString("utf8");
    for (const w of waiters) w();
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exit = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve(code));
  });
  const text = () => raw.replace(ANSI, "");
  return {
    raw: () => raw,
    text,
    exit,
    send: (keys) => child.stdin.write(keys),
    waitFor(what, timeoutMs = 15_000) {
      const hit = () => (typeof what === "string" ? text().includes(what) : what.test(text()));
      if (hit()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!hit()) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${String(what)}; the terminal shows:\n${text()}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void exit.then(() => setTimeout(check, 50));
      });
    },
  };
}

/** Runs a command in a pty to the end; returns its exit code and the screen. */
export async function runPty(args: string[], opts: CliOptions & { cols?: number } = {}): Promise<{ code: number | null; raw: string; text: string }> {
  const s = spawnPty(args, opts);
  const code = await s.exit;
  return { code, raw: s.raw(), text: s.text() };
}
