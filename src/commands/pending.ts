// `pmsync pending [NAME…]` lists the outbox (queued changes and known conflicts);
// `pmsync discard <KEY>… | --all` drops entries.

import type { AppContext } from "../cli/context.js";
import { printTable } from "../cli/table.js";
import { Outbox, showValue, type PendingChange } from "../core/outbox.js";
import { UsageError } from "../errors.js";

export async function pending(ctx: AppContext, names: string[]): Promise<PendingChange[]> {
  for (const n of names) ctx.connection(n);
  const list = new Outbox((await ctx.store()).sqlite).list(names);
  if (ctx.io.json) {
    ctx.io.printJson(
      list.map((c) => ({
        connection: c.connection,
        key: c.key,
        field: c.field,
        base: c.base_value,
        local: c.new_value,
        remote: c.remote_value,
        state: c.state,
        error: c.error,
        queued_at: c.created_at,
      })),
    );
    return list;
  }
  if (!list.length) {
    ctx.io.info("Nothing queued. `pmsync edit` or `pmsync import` queue changes.");
    return list;
  }
  await printTable(
    ctx.io,
    ["connection", "key", "field", "base", "local", "remote", "state"],
    list.map((c) => [
      c.connection,
      c.key,
      c.field,
      showValue(c.base_value),
      showValue(c.new_value),
      c.state === "conflict" ? showValue(c.remote_value) : "",
      c.state === "failed" ? `failed: ${c.error ?? ""}` : c.state,
    ]),
  );
  const conflicts = list.filter((c) => c.state === "conflict").length;
  if (conflicts) ctx.io.info(`${conflicts} conflict(s): the tracker changed these fields too. \`pmsync push --force\` overwrites, \`pmsync discard KEY\` keeps the tracker's value.`);
  return list;
}

export async function discard(ctx: AppContext, keys: string[], opts: { all: boolean; connection?: string }): Promise<void> {
  if (opts.connection) ctx.connection(opts.connection);
  if (!keys.length && !opts.all) throw new UsageError("name the issues whose queued changes to drop", { hint: "pmsync discard PROJ-1 PROJ-2, or --all" });
  if (keys.length && opts.all) throw new UsageError("give issue keys or --all, not both");
  const outbox = new Outbox((await ctx.store()).sqlite);
  const n = opts.all ? outbox.discardAll(opts.connection) : outbox.discard(keys, opts.connection);
  if (ctx.io.json) return ctx.io.printJson({ discarded: n });
  ctx.io.out(`Discarded ${n} queued change(s).`);
  if (!n && keys.length) ctx.io.info("Nothing was queued for those keys (`pmsync pending` lists what is).");
}
