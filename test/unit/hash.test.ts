import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex, stripPaths } from "../../src/core/hash.js";

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
  it("keeps array order (it is content)", () => {
    expect(canonicalJson(["a", "b"])).not.toBe(canonicalJson(["b", "a"]));
  });
});

describe("canonicalJson escaping and ignored keys", () => {
  it("escapes strings exactly like JSON.stringify", () => {
    for (const s of ["plain", 'q"uote', "back\\slash", "nl\n", "tab\t", "\u0001", "emoji 😄", "lone \ud800", "ünïcødé"]) {
      expect(canonicalJson(s)).toBe(JSON.stringify(s));
    }
  });
  it("leaves ignored members out at any depth", () => {
    const ignore = new Set(["self", "avatarUrls"]);
    const a = { self: "u1", fields: { assignee: { displayName: "Ana", avatarUrls: { "16x16": "x" }, self: "u2" } } };
    expect(canonicalJson(a, ignore)).toBe('{"fields":{"assignee":{"displayName":"Ana"}}}');
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
