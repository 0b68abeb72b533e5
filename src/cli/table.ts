// Tables: cli-table3 on a terminal, tab-separated values when piped (one header row), so the
// same report reads well on screen and in `cut`/`awk`.

import type { IO } from "./io.js";

export type Cell = string | number | null | undefined;

export async function printTable(io: IO, headers: string[], rows: Cell[][]): Promise<void> {
  const text = (c: Cell) => (c === null || c === undefined ? "" : String(c));
  if (!io.stdoutTTY) {
    const clean = (c: Cell) => text(c).replace(/[\t\r\n]+/g, " ");
    io.out(headers.join("\t"));
    for (const r of rows) io.out(r.map(clean).join("\t"));
    return;
  }
  const { default: Table } = await import("cli-table3");
  const table = new Table({
    head: headers,
    style: { head: io.flags.color ? ["cyan"] : [], border: io.flags.color ? ["grey"] : [] },
  });
  for (const r of rows) table.push(r.map(text));
  io.out(table.toString());
}
