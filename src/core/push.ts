// Push (SPEC §5.4): sends queued changes with three-way conflict detection. Per issue: re-read it
// from the tracker; a field whose remote value still equals the base is written; one the tracker
// also changed is a conflict (kept, not written) unless forced; one that already has the new value
// is done. After a write the issue is re-read and stored, and only then does the outbox entry go.
// A push killed anywhere and run again finds written values already in place: at most once in
// effect, nothing lost.

import { AuthError, errorMessage, LockedError, PmsyncError } from "../errors.js";
import type { UsageRecorder } from "../http/usage.js";
import type { FieldValue, FieldWrite, Provider, PulledRecord } from "../providers/provider.js";
import type { SyncStore } from "../store/sync-store.js";
import { emptySummary, type RunSummary } from "./engine.js";
import { fieldValue, sameValue, type Outbox, type PendingChange } from "./outbox.js";
import { preparePage } from "./prepare.js";

export type ChangeOutcome = "written" | "already" | "conflict" | "failed" | "would_write";

export interface ChangeResult {
  key: string;
  field: string;
  result: ChangeOutcome;
  base: FieldValue;
  local: FieldValue;
  remote: FieldValue;
  error: string | null;
}

export interface PushSummary extends RunSummary {
  pushed: number;
  conflicts: number;
  failed: number;
  changes: ChangeResult[];
}

/** A push run summary with nothing counted yet. */
export function emptyPushSummary(connection: string, provider: string, status: PushSummary["status"], error: string | null = null): PushSummary {
  return { ...emptySummary(connection, provider, status, error), mode: "push", pushed: 0, conflicts: 0, failed: 0, changes: [] };
}

export interface PushTarget {
  name: string;
  providerName: string;
  provider: Provider;
  usage: UsageRecorder;
  entries: PendingChange[];
}

export async function pushConnection(
  store: SyncStore,
  outbox: Outbox,
  target: PushTarget,
  opts: { dryRun: boolean; force: boolean },
): Promise<{ summary: PushSummary; error?: unknown }> {
  const started = Date.now();
  const summary = emptyPushSummary(target.name, target.providerName, "ok");
  const { provider, usage } = target;
  const finish = () => {
    summary.requests = usage.requests;
    summary.retries = usage.retries;
    summary.duration_ms = Date.now() - started;
    summary.conflicts = summary.changes.filter((c) => c.result === "conflict").length;
    summary.failed = summary.changes.filter((c) => c.result === "failed").length;
    if (summary.failed) summary.status = "failed";
    return summary;
  };
  try {
    store.acquireLock(target.name);
  } catch (err) {
    summary.status = err instanceof LockedError ? "locked" : "failed";
    summary.error = errorMessage(err);
    return { summary: finish(), error: err };
  }
  const runId = opts.dryRun ? 0 : store.startRun(target.name, target.providerName, "push", new Date(started).toISOString());
  const knownProjects = store.knownProjects(target.name);
  const remember = (rec: PulledRecord) => {
    const out = store.writePage({
      connection: target.name,
      provider: target.providerName,
      runId,
      records: preparePage({ records: [rec] }, provider).records,
      usage: usage.drain(),
      cursor: null,
      trackSeen: false,
      knownProjects,
      rawChanges: (a, b) => provider.rawChanges(a, b),
      dryRun: false,
    });
    summary.pulled++;
    summary.updated += out.updated;
    summary.unchanged += out.unchanged;
  };
  const result = (c: PendingChange, outcome: ChangeOutcome, remote: FieldValue, error: string | null = null) =>
    summary.changes.push({ key: c.key, field: c.field, result: outcome, base: c.base_value, local: c.new_value, remote, error });

  let fatal: unknown;
  try {
    for (const group of byIssue(target.entries)) {
      const key = group[0]!.key;
      let remote: PulledRecord | null;
      try {
        remote = await provider.fetchIssue(key);
      } catch (err) {
        if (err instanceof AuthError) throw err; // every other issue would fail the same way
        for (const c of group) fail(outbox, c, errorMessage(err), opts.dryRun, result);
        continue;
      }
      if (!remote) {
        for (const c of group) fail(outbox, c, "the issue no longer exists in the tracker (deleted, or moved where this account cannot see it)", opts.dryRun, result);
        continue;
      }
      const writes: { change: PendingChange; write: FieldWrite }[] = [];
      const done: PendingChange[] = [];
      for (const c of group) {
        const now = fieldValue(remote.issue, c.field);
        if (sameValue(c.field, now, c.new_value)) {
          done.push(c);
          result(c, "already", now);
        } else if (opts.force || sameValue(c.field, now, c.base_value)) {
          writes.push({ change: c, write: { field: c.field, value: c.new_value } });
        } else {
          if (!opts.dryRun) outbox.mark(c.id, "conflict", now, null);
          result(c, "conflict", now);
        }
      }
      if (opts.dryRun) {
        for (const w of writes) result(w.change, "would_write", fieldValue(remote.issue, w.change.field));
        continue;
      }
      if (writes.length) {
        try {
          await provider.writeIssue(remote, writes.map((w) => w.write));
        } catch (err) {
          if (err instanceof AuthError) throw err;
          for (const w of writes) fail(outbox, w.change, errorMessage(err) + hintOf(err), false, result);
          if (done.length) remember(remote);
          outbox.remove(done.map((c) => c.id));
          continue;
        }
      }
      // Re-read, so cache and tracker agree; the entries go only once that is stored.
      const after = writes.length ? await provider.fetchIssue(key) : remote;
      if (!after) {
        for (const w of writes) fail(outbox, w.change, "the issue disappeared right after the write", false, result);
        continue;
      }
      remember(after);
      const applied: PendingChange[] = [...done];
      for (const w of writes) {
        const now = fieldValue(after.issue, w.change.field);
        if (sameValue(w.change.field, now, w.change.new_value)) {
          applied.push(w.change);
          result(w.change, "written", now);
          summary.pushed++;
        } else {
          fail(outbox, w.change, `the tracker accepted the write but now shows ${JSON.stringify(now)} (a workflow rule or permission?)`, false, result);
        }
      }
      outbox.remove(applied.map((c) => c.id));
    }
  } catch (err) {
    fatal = err;
    summary.status = "failed";
    summary.error = errorMessage(err);
  }
  try {
    store.flushUsage(target.name, usage.drain());
    finish();
    if (!opts.dryRun) {
      store.finishRun(runId, {
        status: summary.status === "ok" ? "ok" : "failed",
        finished_at: new Date().toISOString(),
        duration_ms: summary.duration_ms,
        pulled: summary.pulled,
        updated: summary.updated,
        unchanged: summary.unchanged,
        pushed: summary.pushed,
        error: summary.error ?? (summary.failed ? `${summary.failed} change(s) failed` : null),
      });
    }
  } finally {
    store.releaseLock(target.name);
  }
  return fatal === undefined ? { summary: finish() } : { summary: finish(), error: fatal };
}

function fail(outbox: Outbox, c: PendingChange, message: string, dryRun: boolean, result: (c: PendingChange, o: ChangeOutcome, r: FieldValue, e: string) => void): void {
  if (!dryRun) outbox.mark(c.id, "failed", undefined, message);
  result(c, "failed", null, message);
}

function hintOf(err: unknown): string {
  return err instanceof PmsyncError && err.hint ? ` (${err.hint})` : "";
}

function byIssue(entries: PendingChange[]): PendingChange[][] {
  const groups = new Map<string, PendingChange[]>();
  for (const e of entries) {
    const g = groups.get(e.issue_id);
    if (g) g.push(e);
    else groups.set(e.issue_id, [e]);
  }
  return [...groups.values()];
}
