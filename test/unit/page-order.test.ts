import { describe, expect, it } from "vitest";
import { PageOrder, BATCH_RECORDS } from "../../src/core/page-source.js";
import { BufferPool, packedPage, type PackedPage } from "../../src/core/prepare.js";
import type { NormalisedIssue } from "../../src/providers/provider.js";

const provider = { volatilePaths: [], ignoredKeys: new Set<string>() };

/** A packed page of `n` issues whose ids start at `first`. */
// `sizeHint` stands for the body's length: a little more than the payloads, as in a real page.
function page(first: number, n: number, pool?: BufferPool, textBytes = 50, sizeHint = n * (textBytes + 40)): PackedPage {
  const records = Array.from({ length: n }, (_, i) => ({
    issue: { id: String(first + i), key: `P-${first + i}`, labels: [] } as unknown as NormalisedIssue,
    updatedMs: first + i,
    raw: { id: String(first + i), text: "x".repeat(textBytes) },
  }));
  return packedPage({ records }, provider, [], pool, sizeHint);
}

/** The ids handed out, as the batches the engine would commit (split where `commit` is set). */
async function collect(order: PageOrder, onWritten?: (b: ArrayBuffer[]) => void) {
  const groups: string[][] = [];
  let open: string[] = [];
  let error: unknown;
  try {
    for await (const p of order.pages(() => {}, onWritten)) {
      open.push(...p.records.map((r) => r.issue.id));
      if (p.commit) {
        groups.push(open);
        open = [];
      }
    }
  } catch (err) {
    error = err;
  }
  if (open.length) groups.push(["never committed:", ...open]);
  return { groups, error };
}

describe("PageOrder", () => {
  it("hands pages out in page order whatever order they arrive in, merging those already waiting", async () => {
    const order = new PageOrder();
    order.put(2, { type: "page", page: page(20, 2) });
    order.put(1, { type: "page", page: page(10, 2) });
    order.put(3, { type: "done" });
    order.put(0, { type: "page", page: page(0, 2) });
    const { groups, error } = await collect(order);
    expect(error).toBeUndefined();
    expect(groups).toEqual([["0", "1", "10", "11", "20", "21"]]);
  });

  it("ends a batch at BATCH_RECORDS issues without splitting a page", async () => {
    const order = new PageOrder();
    const per = BATCH_RECORDS / 2 + 1; // two pages pass the bound: the second closes the group
    for (let i = 0; i < 3; i++) order.put(i, { type: "page", page: page(i * 1000, per) });
    order.put(3, { type: "done" });
    const { groups } = await collect(order);
    expect(groups.map((g) => g.length)).toEqual([2 * per, per]);
  });

  it("writes every page before a failure, then throws it; nothing after it is handed out", async () => {
    const order = new PageOrder();
    const boom = new Error("page 2 failed");
    order.put(3, { type: "page", page: page(30, 1) });
    order.put(2, { type: "error", error: boom });
    order.put(0, { type: "page", page: page(0, 1) });
    setTimeout(() => order.put(1, { type: "page", page: page(10, 1) }), 20);
    const { groups, error } = await collect(order);
    expect(groups).toEqual([["0", "10"]]); // one batch, committed before the failure is thrown
    expect(error).toBe(boom);
  });

  it("ends a batch when no next page has come BATCH_WAIT_MS after its first (a slow tracker)", async () => {
    const order = new PageOrder();
    order.put(0, { type: "page", page: page(0, 1) });
    setTimeout(() => order.put(1, { type: "page", page: page(10, 1) }), 20);
    setTimeout(() => order.put(2, { type: "page", page: page(20, 1) }), 400);
    setTimeout(() => order.put(3, { type: "done" }), 420);
    const { groups } = await collect(order);
    expect(groups).toEqual([["0", "10"], ["20"]]);
  });

  it("after a thread died, hands out the pages already here, then throws", async () => {
    const order = new PageOrder();
    order.put(0, { type: "page", page: page(0, 1) });
    const died = new Error("the decoder thread stopped");
    setTimeout(() => order.crash(died), 20);
    const { groups, error } = await collect(order);
    expect(groups).toEqual([["0"]]);
    expect(error).toBe(died);
  });

  it("gives each page's payload buffer back once the consumer is done with it", async () => {
    const order = new PageOrder();
    const a = page(0, 3);
    order.put(0, { type: "page", page: a });
    order.put(1, { type: "done" });
    const back: ArrayBuffer[] = [];
    await collect(order, (b) => back.push(...b));
    expect(back).toEqual([a.raw]);
  });
});

describe("BufferPool", () => {
  it("packs into a given-back buffer when it is large enough, and the payloads read back the same", async () => {
    const pool = new BufferPool(4);
    const first = page(0, 10, pool);
    pool.give([first.raw]);
    const second = page(100, 5, pool);
    expect(second.raw).toBe(first.raw); // reused: smaller payloads fit
    const order = new PageOrder();
    order.put(0, { type: "page", page: second });
    order.put(1, { type: "done" });
    for await (const g of order.pages(() => {})) {
      expect(g.records.map((r) => JSON.parse(r.raw.toString()).id)).toEqual(["100", "101", "102", "103", "104"]);
    }
  });

  it("drops a spare buffer too small for the page and allocates one with headroom", () => {
    const pool = new BufferPool(4);
    const small = page(0, 1, pool);
    pool.give([small.raw]);
    const big = page(0, 200, pool, 1000); // ~200 KB: more than the first buffer's 64 KB
    expect(big.raw).not.toBe(small.raw);
    expect(big.raw.byteLength).toBeGreaterThanOrEqual(big.ends[big.ends.length - 1]!);
  });

  it("grows the buffer when the payloads outrun the size hint, and gives the outgrown one back", async () => {
    const pool = new BufferPool(4);
    const packed = page(0, 300, pool, 1000, 10); // ~300 KB into a buffer sized for 10 bytes
    expect(packed.raw.byteLength).toBeGreaterThanOrEqual(packed.ends[packed.ends.length - 1]!);
    expect(pool.owns(packed.raw)).toBe(true);
    const spare = pool.take(1);
    expect(spare).not.toBe(packed.raw);
    expect(pool.owns(spare)).toBe(true); // the outgrown buffer, not a fresh one
    const order = new PageOrder();
    order.put(0, { type: "page", page: packed });
    order.put(1, { type: "done" });
    for await (const g of order.pages(() => {})) {
      expect(g.records.map((r) => JSON.parse(r.raw.toString()).id)).toEqual(Array.from({ length: 300 }, (_, i) => String(i)));
    }
  });
});
