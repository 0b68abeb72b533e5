// Turns a provider page into what the store writes: each raw payload minus volatile members and
// ignored keys, as canonical JSON, with its SHA-256. Pure; runs in the pull worker.

import type { Page, Provider } from "../providers/provider.js";
import type { PreparedRecord } from "../store/sync-store.js";
import { canonicalJson, sha256Hex, stripPaths } from "./hash.js";

export interface PreparedPage {
  records: PreparedRecord[];
  /** Largest server-side `updated` of the page (epoch ms), or -Infinity for an empty page. */
  maxUpdatedMs: number;
}

export function preparePage(
  page: Page,
  provider: Pick<Provider, "volatilePaths" | "ignoredKeys">,
  volatile = splitPaths(provider.volatilePaths),
  withHash = true,
): PreparedPage {
  const records: PreparedRecord[] = new Array(page.records.length);
  let maxUpdatedMs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < page.records.length; i++) {
    const rec = page.records[i]!;
    stripPaths(rec.raw, volatile);
    const canonical = canonicalJson(rec.raw, provider.ignoredKeys);
    const prepared: PreparedRecord = { issue: rec.issue, updatedMs: rec.updatedMs, canonical, hash: withHash ? sha256Hex(canonical) : "" };
    if (rec.projectInfo) prepared.project = rec.projectInfo;
    records[i] = prepared;
    if (rec.updatedMs > maxUpdatedMs) maxUpdatedMs = rec.updatedMs;
  }
  return { records, maxUpdatedMs };
}

export function splitPaths(paths: readonly string[]): string[][] {
  return paths.map((p) => p.split("."));
}

// Pages cross from the pull worker to the main thread as one flat array of primitives per page:
// structured clone copies that far faster than a graph of small objects.
const ISSUE_FIELDS = [
  "id", "key", "url", "project", "type", "title", "description", "status", "status_category", "priority",
  "assignee", "reporter", "labels", "parent", "sprint", "story_points", "due_date", "created_at", "updated_at", "resolved_at",
] as const;
const STRIDE = ISSUE_FIELDS.length + 5;

export interface PackedPage {
  cells: unknown[];
  maxUpdatedMs: number;
}

/** The hash is left to the receiving (main) thread, which has time to spare. */
export function packPage(page: PreparedPage): PackedPage {
  const cells: unknown[] = new Array(page.records.length * STRIDE);
  let o = 0;
  for (const r of page.records) {
    const issue = r.issue as unknown as Record<string, unknown>;
    for (const f of ISSUE_FIELDS) cells[o++] = issue[f];
    cells[o++] = r.updatedMs;
    cells[o++] = r.canonical;
    cells[o++] = r.project?.key;
    cells[o++] = r.project?.id;
    cells[o++] = r.project?.name;
  }
  return { cells, maxUpdatedMs: page.maxUpdatedMs };
}

export function unpackPage(packed: PackedPage): PreparedPage {
  const { cells } = packed;
  const records: PreparedRecord[] = new Array(cells.length / STRIDE);
  for (let o = 0, n = 0; o < cells.length; n++) {
    const issue: Record<string, unknown> = {};
    for (const f of ISSUE_FIELDS) issue[f] = cells[o++];
    const updatedMs = cells[o++] as number;
    const canonical = cells[o++] as string;
    const rec: PreparedRecord = { issue: issue as unknown as PreparedRecord["issue"], updatedMs, canonical, hash: sha256Hex(canonical) };
    const key = cells[o++] as string | undefined;
    const id = cells[o++] as string | null | undefined;
    const name = cells[o++] as string | null | undefined;
    if (key !== undefined) rec.project = { key, id: id ?? null, name: name ?? null };
    records[n] = rec;
  }
  return { records, maxUpdatedMs: packed.maxUpdatedMs };
}
