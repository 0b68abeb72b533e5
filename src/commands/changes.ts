// `pmsync changes [--since 1d|ISO] [NAME…]`: what the syncs changed in the cache, per issue, field
// by field (old → new), from the change log (`issue_changes`).

import type { AppContext } from "../cli/context.js";
import { parseSince } from "../core/time.js";
import { UsageError } from "../errors.js";

export interface IssueChanges {
  connection: string;
  key: string;
  issue_id: string;
  title: string | null;
  /** The latest change to this issue in the window. */
  changed_at: string;
  changes: { field: string; old: string | null; new: string | null; changed_at: string }[];
}

/** Long values (descriptions, JSON) are cut for the terminal; `--json` keeps them whole. */
const SHOWN = 60;

export async function changes(ctx: AppContext, names: string[], since: string): Promise<IssueChanges[]> {
  const sinceMs = parseSince(since);
  if (sinceMs === null) throw new UsageError(`--since "${since}" is not an ISO date/time or a span like 1d, 12h, 2w`);
  for (const n of names) ctx.connection(n);
  const { sqlite } = await ctx.store();
  const sinceIso = new Date(sinceMs).toISOString();
  const filter = names.length ? `AND c.connection IN (${names.map(() => "?").join(", ")})` : "";
  const rows = sqlite
    .prepare(
      `SELECT c.connection, c.key, c.issue_id, c.field, c.old_value, c.new_value, c.changed_at, i.title
       FROM issue_changes c LEFT JOIN issues i ON i.connection = c.connection AND i.id = c.issue_id
       WHERE c.changed_at >= ? ${filter}
       ORDER BY c.connection, c.key, c.changed_at, c.id`,
    )
    .iterate(sinceIso, ...names) as Iterable<{
    connection: string;
    key: string;
    issue_id: string;
    field: string;
    old_value: string | null;
    new_value: string | null;
    changed_at: string;
    title: string | null;
  }>;
  const byIssue = new Map<string, IssueChanges>();
  for (const r of rows) {
    const id = `${r.connection}\u0000${r.issue_id}`;
    let entry = byIssue.get(id);
    if (!entry) {
      entry = { connection: r.connection, key: r.key, issue_id: r.issue_id, title: r.title, changed_at: r.changed_at, changes: [] };
      byIssue.set(id, entry);
    }
    if (r.changed_at > entry.changed_at) entry.changed_at = r.changed_at;
    entry.changes.push({ field: r.field, old: r.old_value, new: r.new_value, changed_at: r.changed_at });
  }
  const list = [...byIssue.values()];
  if (ctx.io.json) {
    ctx.io.printJson(list);
    return list;
  }
  if (!list.length) {
    ctx.io.info(`No changes since ${sinceIso}.`);
    return list;
  }
  const multi = new Set(list.map((c) => c.connection)).size > 1;
  for (const issue of list) {
    const head = `${multi ? `${issue.connection} ` : ""}${issue.key}${issue.title ? `  ${issue.title}` : ""}`;
    if (ctx.io.stdoutTTY) {
      ctx.io.out(ctx.io.paint("bold", head));
      for (const c of issue.changes) ctx.io.out(`  ${c.field}: ${shown(c.old)} → ${shown(c.new)}  ${ctx.io.paint("dim", c.changed_at)}`);
    } else {
      // Piped: one tab-separated line per field change, for grep/cut/awk.
      for (const c of issue.changes) ctx.io.out([issue.connection, issue.key, c.changed_at, c.field, oneLine(c.old), oneLine(c.new)].join("\t"));
    }
  }
  return list;
}

function oneLine(v: string | null): string {
  return v === null ? "" : v.replace(/[\t\r\n]+/g, " ");
}

function shown(v: string | null): string {
  if (v === null || v === "") return "(empty)";
  const line = oneLine(v);
  return line.length > SHOWN ? `${line.slice(0, SHOWN - 1)}…` : line;
}
