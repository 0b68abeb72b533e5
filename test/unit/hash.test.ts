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
