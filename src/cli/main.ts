// The entry point: runs one command and returns its exit code. This is the only place where
// errors become exit codes (SPEC §3); nothing below calls process.exit.

import { readFileSync } from "node:fs";
import { CommanderError, type Command } from "commander";
import { ExitCode, ExitWithCode, PmsyncError, errorMessage, exitCodeOf } from "../errors.js";
import { redactText } from "../http/redact.js";
import { AppContext } from "./context.js";
import { IO, colorWanted } from "./io.js";
import { buildProgram } from "./program.js";

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export async function main(argv: string[]): Promise<number> {
  let ctx: AppContext | null = null;
  let io: IO | null = null;
  const getCtx = (cmd: Command): AppContext => {
    if (ctx) return ctx;
    const g = cmd.optsWithGlobals() as { home?: string; db?: string; json?: boolean; quiet?: boolean; verbose?: boolean; color?: boolean };
    io = new IO({
      json: Boolean(g.json),
      quiet: Boolean(g.quiet),
      verbose: Boolean(g.verbose),
      color: colorWanted(g.color === false, process.stdout),
    });
    ctx = new AppContext(io, { home: g.home, db: g.db });
    return ctx;
  };

  const program = buildProgram(version(), getCtx);
  program.exitOverride();
  program.configureOutput({
    writeOut: (s) => process.stdout.write(s),
    writeErr: (s) => process.stderr.write(s),
  });
  for (const sub of program.commands) {
    sub.exitOverride();
    for (const subsub of sub.commands) subsub.exitOverride();
  }

  try {
    await program.parseAsync(argv);
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") return ExitCode.ok;
      // commander already printed the message
      return ExitCode.usage;
    }
    if (err instanceof ExitWithCode && !err.message) return err.exitCode;
    const out = io ?? new IO({ json: false, quiet: false, verbose: false, color: colorWanted(false, process.stderr) });
    out.error(redactText(errorMessage(err), []));
    if (err instanceof PmsyncError && err.hint) out.info(`hint: ${err.hint}`);
    if (!(err instanceof PmsyncError)) {
      // A bug, not a user error: show where, so it can be reported.
      out.info((err as Error)?.stack ?? String(err));
    }
    return exitCodeOf(err);
  } finally {
    await (ctx as AppContext | null)?.close();
  }
}
