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

export function preparePage(page: Page, provider: Pick<Provider, "volatilePaths" | "ignoredKeys">, volatile = splitPaths(provider.volatilePaths)): PreparedPage {
  const records: PreparedRecord[] = new Array(page.records.length);
  let maxUpdatedMs = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < page.records.length; i++) {
    const rec = page.records[i]!;
    stripPaths(rec.raw, volatile);
    const canonical = canonicalJson(rec.raw, provider.ignoredKeys);
    const prepared: PreparedRecord = { issue: rec.issue, updatedMs: rec.updatedMs, canonical, hash: sha256Hex(canonical) };
    if (rec.projectInfo) prepared.project = rec.projectInfo;
    records[i] = prepared;
    if (rec.updatedMs > maxUpdatedMs) maxUpdatedMs = rec.updatedMs;
  }
  return { records, maxUpdatedMs };
}

export function splitPaths(paths: readonly string[]): string[][] {
  return paths.map((p) => p.split("."));
}
