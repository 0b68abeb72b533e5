// The sync engine (SPEC §5.1–5.2): pulls pages from a provider, writes each page in one
// transaction, moves the cursor only after its page committed (from the server's `updated`
// values, minus an overlap window on the next run), detects changes by content hash, and on a
// full sync marks issues that vanished as deleted.

import { errorMessage, LockedError } from "../errors.js";
import type { ConnectionConfig } from "../config.js";
import type { UsageRecorder } from "../http/usage.js";
import type { Provider } from "../providers/provider.js";
import type { SyncStore } from "../store/sync-store.js";
import { canonicalJson, sha256Hex } from "./hash.js";
import type { PageSource } from "./page-source.js";

export const DEFAULT_OVERLAP_MS = 5 * 60_000;

export type SyncMode = "full" | "incremental";

export interface SyncOptions {
  mode: SyncMode | "auto";
  /** Narrows the connection's scope for this run (`--project`). */
  projects: string[];
  dryRun: boolean;
  overlapMs: number;
  onProgress?: (p: SyncProgress) => void;
}

export interface SyncProgress {
  connection: string;
  pages: number;
  issues: number;
  retries: number;
}

export interface RunSummary {
  connection: string;
  provider: string;
  mode: SyncMode | "push" | null;
  status: "ok" | "failed" | "skipped" | "locked";
  pulled: number;
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  requests: number;
  retries: number;
  duration_ms: number;
  cursor: string | null;
  error: string | null;
}

/** A run summary with nothing counted yet. */
export function emptySummary(connection: string, provider: string, status: RunSummary["status"], error: string | null = null): RunSummary {
  return {
    connection,
    provider,
    mode: null,
    status,
    pulled: 0,
    created: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    requests: 0,
    retries: 0,
    duration_ms: 0,
    cursor: null,
    error,
  };
}

export interface SyncTarget {
  name: string;
  config: ConnectionConfig;
  /** Used on this thread for the field catalog and the change log. */
  provider: Provider;
  /** Where pulled pages come from (a worker thread, or in-process). */
  pages: PageSource;
  usage: UsageRecorder;
}

export async function syncConnection(store: SyncStore, target: SyncTarget, opts: SyncOptions): Promise<{ summary: RunSummary; error?: unknown }> {
  const started = Date.now();
  const { name, config, provider, usage, pages: pageSource } = target;
  const summary = emptySummary(name, config.provider, "ok");
  const finish = () => {
    summary.requests = usage.requests;
    summary.retries = usage.retries;
    summary.duration_ms = Date.now() - started;
    return summary;
  };

  store.upsertConnection(name, config.provider, config.site);
  try {
    store.acquireLock(name);
  } catch (err) {
    summary.status = err instanceof LockedError ? "locked" : "failed";
    summary.error = errorMessage(err);
    return { summary: finish(), error: err };
  }

  let runId = 0;
  try {
    pageSource.warm?.();
    const state = store.state(name);
    const cursorMs = state?.cursor ? Date.parse(state.cursor) : null;
    const mode: SyncMode = opts.mode === "full" || cursorMs === null ? "full" : "incremental";
    summary.mode = mode;
    summary.cursor = state?.cursor ?? null;
    const projects = opts.projects.length ? opts.projects : config.projects;
    // A run narrowed to some projects must not move the connection's cursor: the next full-scope
    // run would start past changes made meanwhile in the projects this one skipped.
    const narrowed = opts.projects.length > 0 && !sameSet(opts.projects, config.projects);
    runId = opts.dryRun ? 0 : store.startRun(name, config.provider, mode, new Date(started).toISOString());

    const catalog = await provider.fieldCatalog();
    if (!opts.dryRun) store.saveCatalog(name, catalog, sha256Hex(canonicalJson(catalog)));

    const sinceMs = mode === "incremental" && cursorMs !== null ? cursorMs - opts.overlapMs : null;
    const knownProjects = store.knownProjects(name);
    // A full run over the whole scope marks every unseen issue of the connection (deleted, or moved
    // out of scope); a narrowed run only those of the projects it listed. With no live issue there
    // at the start (a first sync), nothing can go unseen: no ids are tracked.
    const goneScope = narrowed ? projects : [];
    const sweep = mode === "full" && !opts.dryRun && store.hasLiveIssues(name, goneScope);
    if (sweep) store.beginSeenTracking();
    let maxUpdated = cursorMs ?? Number.NEGATIVE_INFINITY;
    let pages = 0;
    // What the open batch wrote: it counts (and its cursor is reported) once it commits.
    const openBatch = () => ({ cursor: null as string | null, pulled: 0, created: 0, updated: 0, unchanged: 0 });
    let batch = openBatch();
    const settle = () => {
      if (batch.cursor !== null) summary.cursor = batch.cursor;
      summary.pulled += batch.pulled;
      summary.created += batch.created;
      summary.updated += batch.updated;
      summary.unchanged += batch.unchanged;
      batch = openBatch();
    };

    for await (const page of pageSource({ mode, sinceMs, projects, catalog }, usage)) {
      const pageMax = Math.max(maxUpdated, page.maxUpdatedMs);
      const cursor = pageMax > maxUpdated && !narrowed ? new Date(pageMax).toISOString() : null;
      const commit = page.commit ?? true;
      const out = store.writePage({
        connection: name,
        provider: config.provider,
        runId,
        records: page.records,
        usage: usage.drain(),
        cursor,
        trackSeen: sweep,
        knownProjects,
        rawChanges: (a, b) => provider.rawChanges(a, b),
        dryRun: opts.dryRun,
        commit,
      });
      // The cursor moves in the transaction that writes its page, so it is saved with that page.
      maxUpdated = pageMax;
      if (cursor !== null && !opts.dryRun) batch.cursor = cursor;
      batch.pulled += page.records.length;
      batch.created += out.created;
      batch.updated += out.updated;
      batch.unchanged += out.unchanged;
      if (commit) settle();
      pages++;
      opts.onProgress?.({ connection: name, pages, issues: summary.pulled + batch.pulled, retries: usage.retries });
    }

    // The last page ends its batch (PageOrder.pages); a source that did not say so commits here.
    store.commitBatch();
    settle();
    if (sweep) summary.deleted = store.markUnseenDeleted(name, runId, goneScope);
    store.flushUsage(name, usage.drain());
    if (!opts.dryRun) {
      store.recordOutcome(name, true, mode === "full" ? new Date().toISOString() : null);
      finish();
      store.finishRun(runId, { ...counts(summary), status: "ok", finished_at: new Date().toISOString() });
    }
    return { summary: finish() };
  } catch (err) {
    summary.status = "failed";
    summary.error = errorMessage(err);
    try {
      store.rollbackBatch();
      store.flushUsage(name, usage.drain());
      if (!opts.dryRun) {
        store.recordOutcome(name, false, null);
        finish();
        if (runId) store.finishRun(runId, { ...counts(summary), status: "failed", finished_at: new Date().toISOString(), error: summary.error });
      }
    } catch {
      // The original error matters more than a failure to record it.
    }
    return { summary: finish(), error: err };
  } finally {
    store.releaseLock(name);
    await store.endWrites();
    await pageSource.release?.();
  }
}

function sameSet(a: string[], b: string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

function counts(s: RunSummary) {
  return {
    pulled: s.pulled,
    created: s.created,
    updated: s.updated,
    unchanged: s.unchanged,
    deleted: s.deleted,
    requests: s.requests,
    retries: s.retries,
    duration_ms: s.duration_ms,
    cursor: s.cursor,
  };
}
