// All terminal output goes through here: data to stdout, progress and diagnostics to stderr
// (SPEC §3). Colour only on a TTY without NO_COLOR/--no-color; prompts only when both stdin
// and stdout are terminals.

import type { Writable } from "node:stream";

export interface IOFlags {
  json: boolean;
  quiet: boolean;
  verbose: boolean;
  color: boolean;
}

export class IO {
  readonly stdoutTTY: boolean;
  readonly stderrTTY: boolean;
  readonly stdinTTY: boolean;
  private stdoutClosed = false;

  constructor(
    readonly flags: IOFlags,
    readonly stdout: Writable & { isTTY?: boolean } = process.stdout,
    readonly stderr: Writable & { isTTY?: boolean } = process.stderr,
    stdinTTY: boolean = Boolean(process.stdin.isTTY),
  ) {
    this.stdoutTTY = Boolean(stdout.isTTY);
    this.stderrTTY = Boolean(stderr.isTTY);
    this.stdinTTY = stdinTTY;
    // `pmsync export | head` closes the pipe early: stop writing instead of crashing.
    stdout.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") this.stdoutClosed = true;
      else throw err;
    });
  }

  get json(): boolean {
    return this.flags.json;
  }

  canPrompt(): boolean {
    return this.stdinTTY && this.stdoutTTY;
  }

  /** Progress spinners: stderr is a terminal and neither --json nor --quiet was given. */
  showProgress(): boolean {
    return this.stderrTTY && !this.flags.json && !this.flags.quiet;
  }

  /** A line of data (the command's result). */
  out(line = ""): void {
    if (!this.stdoutClosed) this.stdout.write(line + "\n");
  }

  /** Writes a chunk of data, waiting when the pipe is full (large exports). */
  async write(chunk: string | Uint8Array): Promise<void> {
    if (this.stdoutClosed) return;
    if (!this.stdout.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stdout.off("drain", done);
          this.stdout.off("error", done);
          this.stdout.off("close", done);
          resolve();
        };
        this.stdout.once("drain", done);
        this.stdout.once("error", done);
        this.stdout.once("close", done);
      });
    }
  }

  get outputClosed(): boolean {
    return this.stdoutClosed;
  }

  printJson(value: unknown): void {
    this.out(JSON.stringify(value, null, 2));
  }

  /** Diagnostics and notes: stderr, silenced by --quiet. */
  info(line: string): void {
    if (!this.flags.quiet) this.stderr.write(line + "\n");
  }

  warn(line: string): void {
    if (!this.flags.quiet) this.stderr.write(this.paint("yellow", "warning: ") + line + "\n");
  }

  /** Errors always print, --quiet or not. */
  error(line: string): void {
    this.stderr.write(this.paint("red", "error: ") + line + "\n");
  }

  debug(line: string): void {
    if (this.flags.verbose) this.stderr.write(this.paint("dim", line) + "\n");
  }

  paint(style: "red" | "yellow" | "green" | "dim" | "bold" | "cyan", text: string): string {
    if (!this.flags.color) return text;
    const codes = { red: [31, 39], yellow: [33, 39], green: [32, 39], cyan: [36, 39], dim: [2, 22], bold: [1, 22] }[style];
    return `\u001b[${codes[0]}m${text}\u001b[${codes[1]}m`;
  }
}

export function colorWanted(noColorFlag: boolean, stream: { isTTY?: boolean }): boolean {
  if (noColorFlag) return false;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return false;
  return Boolean(stream.isTTY);
}
