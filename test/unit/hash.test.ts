import { describe, expect, it } from "vitest";
import { CanonicalWriter, canonicalJson, sha256Hex, stripPaths } from "../../src/core/hash.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth and drops undefined members", () => {
    const a = { b: 1, a: { z: [3, { y: 2, x: 1 }], m: undefined }, c: "é\n" };
    expect(canonicalJson(a)).toBe('{"a":{"z":[3,{"x":1,"y":2}]},"b":1,"c":"é\\n"}');
  });
  it("gives the same hash whatever order the server sent the keys in", () => {
    const one = JSON.parse('{"id":"1","fields":{"summary":"S","labels":["a","b"],"n":1.5}}');
    const two = JSON.parse('{"fields":{"n":1.50,"labels":["a","b"],"summary":"S"},"id":"1"}');
    expect(sha256Hex(canonicalJson(one))).toBe(sha256Hex(canonicalJson(two)));
  });
  it("sorts correctly when key lists repeat, share a first key, or differ only later (the order cache)", () => {
    const shapes = [
      { k: 1, b: 2, a: 3 },
      { k: 1, b: 2, c: 3 },
      { k: 1, a: 2 },
      { k: 1, b: 2, a: 3, z: 0 },
    ];
    for (let round = 0; round < 3; round++) {
      for (const o of shapes) {
        const expected = "{" + Object.keys(o).sort().map((key) => `"${key}":${o[key as keyof typeof o]}`).join(",") + "}";
        expect(canonicalJson(o)).toBe(expected);
      }
    }
    // More shapes under one first key than the cache keeps, and many first keys: still sorted.
    for (let i = 0; i < 50; i++) expect(canonicalJson({ k: 0, [`x${i}`]: 1, a: 2 })).toBe(`{"a":2,"k":0,"x${i}":1}`);
    for (let i = 0; i < 3000; i++) expect(canonicalJson({ [`f${i}`]: 1, a: 2 })).toBe(`{"a":2,"f${i}":1}`);
  });
  it("matches a plain reference on random objects: repeated shapes, ignored keys, undefined members anywhere", () => {
    // The reference: sort, drop, quote, join; nothing cached.
    const ref = (v: unknown, ignore: ReadonlySet<string>): string => {
      if (Array.isArray(v)) return "[" + v.map((x) => (x === undefined ? "null" : ref(x, ignore))).join(",") + "]";
      if (v !== null && typeof v === "object") {
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o).sort().filter((k) => !ignore.has(k) && o[k] !== undefined);
        return "{" + keys.map((k) => JSON.stringify(k) + ":" + ref(o[k], ignore)).join(",") + "}";
      }
      return JSON.stringify(v) ?? "null";
    };
    let seed = 7;
    const r = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const names = ["a", "b", "self", "id", "z", "iconUrl", "10", "2", "é", "k\"q"];
    const value = (depth: number): unknown => {
      const x = r();
      if (depth > 3 || x < 0.35) return [undefined, null, 1, -0.5, 1e21, "s", 'q"', true][Math.floor(r() * 8)];
      if (x < 0.55) return Array.from({ length: Math.floor(r() * 4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (const k of names) if (r() < 0.4) o[k] = value(depth + 1);
      return o;
    };
    const ignored = new Set(["self", "iconUrl"]);
    for (let i = 0; i < 2000; i++) {
      const v = value(0);
      expect(canonicalJson(v)).toBe(ref(v, new Set()));
      expect(canonicalJson(v, ignored)).toBe(ref(v, ignored));
    }
  });
  it("keeps array order (it is content)", () => {
    expect(canonicalJson(["a", "b"])).not.toBe(canonicalJson(["b", "a"]));
  });
});

describe("canonicalJson escaping and ignored keys", () => {
  it("escapes strings exactly like JSON.stringify", () => {
    const cases = ["plain", 'q"uote', "back\\slash", "nl\n", "tab\t", "\u0001", "emoji 😄", "lone \ud800", "ünïcødé", "", "del\u007f", "é then \"", "é then \n", "x\u2028y", "\udc00 first", "日本 then \\", "ends in é"];
    for (const s of cases) {
      expect(canonicalJson(s)).toBe(JSON.stringify(s));
    }
  });
  it("leaves ignored members out at any depth", () => {
    const ignore = new Set(["self", "avatarUrls"]);
    const a = { self: "u1", fields: { assignee: { displayName: "Ana", avatarUrls: { "16x16": "x" }, self: "u2" } } };
    expect(canonicalJson(a, ignore)).toBe('{"fields":{"assignee":{"displayName":"Ana"}}}');
  });
});

describe("CanonicalWriter", () => {
  it("appends the UTF-8 of each value's canonical JSON, growing its buffer as it goes", () => {
    const values: unknown[] = [
      { b: "ünïcødé", a: ["emoji 😄", "lone \ud800", 'q"', 1.5, null, true] },
      "x".repeat(5000),
      { self: "dropped", k: { "日本": "語", z: [] } },
      "é" + "ab".repeat(100) + "—",
    ];
    const grown: number[] = [];
    const w = new CanonicalWriter(Buffer.alloc(7), (buf, need, length) => {
      grown.push(need);
      const next = Buffer.alloc(need); // exactly what is asked: every later write grows again
      buf.copy(next, 0, 0, length);
      return next;
    });
    const ignore = new Set(["self"]);
    const ends: number[] = [];
    for (const v of values) {
      w.write(v, ignore);
      ends.push(w.length);
    }
    expect(grown.length).toBeGreaterThan(3);
    const expected = values.map((v) => Buffer.from(canonicalJson(v, ignore)));
    expect(Buffer.from(w.buf.subarray(0, w.length)).equals(Buffer.concat(expected))).toBe(true);
    expect(ends).toEqual(expected.map((_, i) => expected.slice(0, i + 1).reduce((n, b) => n + b.length, 0)));
  });
});

describe("stripPaths", () => {
  it("removes volatile members so they cannot move the hash", () => {
    const x = { fields: { lastViewed: "2026-01-01", watches: { watchCount: 3 }, summary: "S" } };
    const y = { fields: { lastViewed: "2026-02-02", watches: { watchCount: 9 }, summary: "S" } };
    const paths = [["fields", "lastViewed"], ["fields", "watches"]];
    stripPaths(x, paths);
    stripPaths(y, paths);
    expect(canonicalJson(x)).toBe(canonicalJson(y));
    expect(x.fields).toEqual({ summary: "S" });
  });
  it("ignores paths that are absent", () => {
    const x = { a: 1 };
    stripPaths(x, [["fields", "lastViewed"]]);
    expect(x).toEqual({ a: 1 });
  });
});
