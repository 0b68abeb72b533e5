// `pmsync edit <KEY> --set field=value … --add-label L --remove-label L`: queues a local change in
// the outbox (SPEC §5.4). Nothing is sent to the tracker until `pmsync push`.

import type { AppContext } from "../cli/context.js";
import { findIssue, isEditable, Outbox, parseValue, showValue, Vocabulary, EDITABLE_FIELDS, fieldValue, type Edit } from "../core/outbox.js";
import { UsageError } from "../errors.js";
import type { EditableField } from "../providers/provider.js";
import { providerModule } from "../providers/registry.js";

export interface EditOptions {
  key: string;
  connection?: string;
  set: string[];
  addLabels: string[];
  removeLabels: string[];
  dryRun: boolean;
}

export async function edit(ctx: AppContext, opts: EditOptions): Promise<void> {
  if (!opts.set.length && !opts.addLabels.length && !opts.removeLabels.length) {
    throw new UsageError("nothing to change", { hint: "give --set field=value, --add-label L or --remove-label L" });
  }
  if (opts.connection) ctx.connection(opts.connection);
  const { sqlite } = await ctx.store();
  const issue = findIssue(sqlite, opts.key, opts.connection);
  const editable = providerModule(issue.provider).editableFields;
  const vocab = new Vocabulary(sqlite);
  const outbox = new Outbox(sqlite);
  const edits: Edit[] = [];
  const check = (field: EditableField) => {
    if (!editable.has(field)) {
      throw new UsageError(`${issue.provider} issues cannot have their ${field} changed by pmsync`, { hint: `editable here: ${[...editable].join(", ")}` });
    }
  };
  for (const s of opts.set) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set "${s}" is not field=value`, { hint: `e.g. --set status="In Progress"; fields: ${EDITABLE_FIELDS.join(", ")}` });
    const field = s.slice(0, eq).trim();
    if (!isEditable(field)) throw new UsageError(`"${field}" is not an editable field`, { hint: `editable: ${EDITABLE_FIELDS.join(", ")}` });
    check(field);
    edits.push({ issue, field, value: parseValue(field, s.slice(eq + 1), issue, vocab) });
  }
  if (opts.addLabels.length || opts.removeLabels.length) {
    check("labels");
    // Builds on the labels already queued for this issue, else on the cached ones.
    const set = edits.find((e) => e.field === "labels");
    const start = (set?.value ?? outbox.queuedValue(issue.connection, issue.id, "labels") ?? fieldValue(issue, "labels")) as string[];
    const add = parseValue("labels", opts.addLabels, issue, vocab) as string[];
    const remove = new Set(parseValue("labels", opts.removeLabels, issue, vocab) as string[]);
    const labels = [...new Set([...start, ...add])].filter((l) => !remove.has(l));
    if (set) set.value = labels;
    else edits.push({ issue, field: "labels", value: labels });
  }

  const shown = edits.map((e) => ({ key: issue.key, connection: issue.connection, field: e.field, from: fieldValue(issue, e.field), to: e.value }));
  if (opts.dryRun) {
    if (ctx.io.json) return ctx.io.printJson({ dry_run: true, changes: shown });
    for (const c of shown) ctx.io.out(`${c.key} ${c.field}: ${showValue(c.from)} → ${showValue(c.to)} (dry run: not queued)`);
    return;
  }
  const { queued, dropped } = outbox.queue(edits);
  if (ctx.io.json) return ctx.io.printJson({ queued, dropped, changes: shown });
  for (const c of shown) ctx.io.out(`${c.key} ${c.field}: ${showValue(c.from)} → ${showValue(c.to)}`);
  if (dropped) ctx.io.info(`${dropped} queued change(s) dropped: the value is back to what the tracker has.`);
  ctx.io.info(`${queued} change(s) queued. \`pmsync pending\` lists them, \`pmsync push\` sends them.`);
}
