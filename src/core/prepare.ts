// Turns a provider page into what the store writes: each raw payload minus volatile members and
// ignored keys, as canonical JSON (UTF-8 bytes), with its SHA-256. Pure; runs in the pull worker.

import type { DecodedPage, NormalisedIssue, Page, Provider } from "../providers/provider.js";
import type { PreparedRecord } from "../store/sync-store.js";
import { CanonicalWriter, sha256Hex, stripPaths } from "./hash.js";

export interface PreparedPage {
  records: PreparedRecord[];
  /** Largest server-side `updated` of the page (epoch ms), or -Infinity for an empty page. */
  maxUpdatedMs: number;
  /** Whether the engine commits after writing this page (default true); see PageOrder.pages. */
  commit?: boolean;
}

/**
 * A provider page prepared on this thread: the same steps as a page packed on a pull or decoder
 * thread and unpacked here, so both paths write the same bytes.
 */
export function preparePage(
  page: Page,
  provider: Pick<Provider, "volatilePaths" | "ignoredKeys">,
  volatile = splitPaths(provider.volatilePaths),
): PreparedPage {
  // ~4 KB per payload to start with (push prepares a single issue); the buffer grows if needed.
  return unpackPage(packedPage(page, provider, volatile, undefined, 4096 * Math.max(1, page.records.length)));
}

export function splitPaths(paths: readonly string[]): string[][] {
  return paths.map((p) => p.split("."));
}

// Pages cross from the pull worker to the main thread as one flat array of primitives per page
// (structured clone copies that far faster than a graph of small objects) plus one buffer with
// every raw payload, which is transferred, not copied: the payloads are most of a page's bytes.
const ISSUE_FIELDS = [
  "id", "key", "url", "project", "type", "title", "description", "status", "status_category", "priority",
  "assignee", "reporter", "labels", "parent", "sprint", "story_points", "due_date", "created_at", "updated_at", "resolved_at",
] as const;
const STRIDE = ISSUE_FIELDS.length + 4; // + updatedMs and the project key, id and name

export interface PackedPage {
  cells: unknown[];
  /** The raw payloads back to back; record i is `raw[ends[i-1] .. ends[i]]`. */
  raw: ArrayBuffer;
  ends: number[];
  maxUpdatedMs: number;
}

/**
 * Spare buffers for packed payloads, given back by the main thread once their page is written:
 * the same few buffers go round instead of a fresh ~350 KB allocation per page, which glibc would
 * keep in per-thread arenas after use (measured: 20–30 MB of RSS at 100,000 issues).
 */
export class BufferPool {
  private readonly spare: ArrayBuffer[] = [];
  /** Buffers this pool handed out or was given: nothing else holds a view of them. */
  private readonly mine = new WeakSet<ArrayBuffer>();
  constructor(private readonly max: number) {}

  /** Buffers no longer used (transferred back, or done with on this thread). */
  give(buffers: ArrayBuffer[]): void {
    for (const b of buffers) {
      this.mine.add(b);
      if (this.spare.length < this.max) this.spare.push(b);
    }
  }

  take(size: number): ArrayBuffer {
    // One too small is dropped: the buffers going round grow to the largest page seen.
    for (let b = this.spare.pop(); b; b = this.spare.pop()) if (b.byteLength >= size) return b;
    const b = new ArrayBuffer(Math.ceil((size * 1.25) / 65536) * 65536);
    this.mine.add(b);
    return b;
  }

  owns(buffer: ArrayBufferLike): boolean {
    return this.mine.has(buffer as ArrayBuffer);
  }
}

/**
 * A provider page prepared and packed for the main thread, which hashes. Each payload's
 * canonical text is written into the page's buffer as soon as it is made, and the parsed payload
 * is let go: neither stays alive for a young-generation GC to copy while the rest of the page is
 * worked through. Records may be parsed lazily (`DecodedPage`). `sizeHint` (the body's length)
 * sizes the buffer: the canonical texts are nearly always shorter. Post with `[packed.raw]` as
 * the transfer list; `raw` may be longer than the payloads (a pooled buffer).
 */
export function packedPage(
  page: DecodedPage,
  provider: Pick<Provider, "volatilePaths" | "ignoredKeys">,
  volatile: string[][],
  pool?: BufferPool,
  sizeHint = 256 * 1024,
): PackedPage {
  const cells: unknown[] = [];
  const ends: number[] = [];
  let maxUpdatedMs = Number.NEGATIVE_INFINITY;
  const take = (size: number) => (pool ? pool.take(size) : new ArrayBuffer(size));
  // Its own ArrayBuffer (never a slice of Node's shared pool), so it can be transferred.
  const out = new CanonicalWriter(Buffer.from(take(sizeHint)), (old, need, length) => {
    const grown = Buffer.from(take(Math.max(need, old.length * 2)));
    old.copy(grown, 0, 0, length);
    if (pool) pool.give([old.buffer as ArrayBuffer]);
    return grown;
  });
  for (const rec of page.records) {
    stripPaths(rec.raw, volatile);
    out.write(rec.raw, provider.ignoredKeys);
    rec.raw = null;
    ends.push(out.length);
    const issue = rec.issue as unknown as Record<string, unknown>;
    for (const f of ISSUE_FIELDS) cells.push(issue[f]);
    cells.push(rec.updatedMs, rec.projectInfo?.key, rec.projectInfo?.id, rec.projectInfo?.name);
    if (rec.updatedMs > maxUpdatedMs) maxUpdatedMs = rec.updatedMs;
  }
  return { cells, raw: out.buf.buffer as ArrayBuffer, ends, maxUpdatedMs };
}

export function unpackPage(packed: PackedPage): PreparedPage {
  const { cells, ends } = packed;
  const records: PreparedRecord[] = new Array(ends.length);
  const c = (i: number) => cells[i] as never; // written by packedPage in ISSUE_FIELDS order
  for (let o = 0, n = 0; o < cells.length; n++, o += STRIDE) {
    // One literal in a fixed order: built key by key, the object would turn into a dictionary
    // (~1.6 KB of garbage per issue on the thread that writes, and slow reads in the store).
    const issue: NormalisedIssue = {
      id: c(o), key: c(o + 1), url: c(o + 2), project: c(o + 3), type: c(o + 4), title: c(o + 5), description: c(o + 6),
      status: c(o + 7), status_category: c(o + 8), priority: c(o + 9), assignee: c(o + 10), reporter: c(o + 11), labels: c(o + 12),
      parent: c(o + 13), sprint: c(o + 14), story_points: c(o + 15), due_date: c(o + 16), created_at: c(o + 17), updated_at: c(o + 18),
      resolved_at: c(o + 19),
    };
    const start = n === 0 ? 0 : ends[n - 1]!;
    const raw = Buffer.from(packed.raw, start, ends[n]! - start);
    const rec: PreparedRecord = { issue, updatedMs: c(o + 20), raw, hash: sha256Hex(raw) };
    const key = c(o + 21) as string | undefined;
    if (key !== undefined) rec.project = { key, id: c(o + 22) ?? null, name: c(o + 23) ?? null };
    records[n] = rec;
  }
  return { records, maxUpdatedMs: packed.maxUpdatedMs };
}
