import { describe, expect, it } from "vitest";
import { splitArrayBody } from "../../src/http/json-array.js";

const whole = (body: Buffer) => () => (JSON.parse(body.toString()) as { issues: unknown[] }).issues;

/** What the split gives, read to the end: the same shape as parsing the whole body. */
function read(body: Buffer): { rest: Record<string, unknown>; issues: unknown[] } | null {
  const split = splitArrayBody(body, "issues", whole(body));
  return split && { rest: split.rest, issues: [...split.elements] };
}

function expectSameAsWhole(body: Buffer): void {
  const parsed = JSON.parse(body.toString()) as { issues: unknown[] };
  const got = read(body);
  expect(got).not.toBeNull();
  expect(got!.issues).toEqual(parsed.issues);
  expect(got!.rest).toEqual({ ...parsed, issues: [] });
}

// A small deterministic generator, so a failure names a seed that reproduces it.
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function randomIssue(r: () => number, i: number): unknown {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const text = () =>
    pick(["plain", 'a "quoted" },{"expand":"x"} bit', "back\\slash\\", "é ü 😀 \u2028", "}]", "],\"isLast\":true}", "\n\t"]);
  const node = (depth: number): unknown =>
    depth > 2 || r() < 0.3
      ? pick([text(), 42, 1.5e-7, null, true, []])
      : r() < 0.5
        ? // nested objects that open with the element's own first key: the cut falls inside
          Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({ expand: text(), id: String(i), value: node(depth + 1) }))
        : { expand: text(), inner: node(depth + 1), list: [node(depth + 1), node(depth + 1)] };
  return { expand: "renderedFields,names", id: String(10000 + i), key: `P-${i}`, fields: { summary: text(), custom: node(0) } };
}

describe("splitArrayBody", () => {
  it("parses a page element by element, with the rest of the object beside it", () => {
    const body = Buffer.from(JSON.stringify({ issues: [{ expand: "x", id: "1" }, { expand: "y", id: "2", fields: { a: [{ b: 1 }] } }], nextPageToken: "t", isLast: false }));
    expectSameAsWhole(body);
  });

  it("gives the same issues as parsing the whole body, for random bodies (cuts inside elements included)", () => {
    let split = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 12);
      const page: Record<string, unknown> = { issues: Array.from({ length: n }, (_, i) => randomIssue(r, i)) };
      if (r() < 0.7) page.nextPageToken = "tok" + seed;
      page.isLast = r() < 0.5;
      if (r() < 0.3) page.names = { a: [{ expand: "n" }], b: "}]" }; // a `}]` after the list
      const body = Buffer.from(JSON.stringify(page));
      const got = read(body);
      if (got === null) continue; // not split: the caller parses the whole body as before
      split++;
      expect(got.issues, `seed ${seed}`).toEqual(page.issues);
      expect(got.rest, `seed ${seed}`).toEqual({ ...page, issues: [] });
    }
    expect(split).toBeGreaterThan(250);
  });

  it("never reads a cut-off or damaged body to the end: the whole parse's error comes out", () => {
    let thrown = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const page = { issues: Array.from({ length: 2 + Math.floor(r() * 5) }, (_, i) => randomIssue(r, i)), nextPageToken: "t", isLast: false };
      const full = Buffer.from(JSON.stringify(page));
      const at = 12 + Math.floor(r() * (full.length - 13));
      const body = r() < 0.5 ? full.subarray(0, at) : Buffer.concat([full.subarray(0, at), Buffer.from("<"), full.subarray(at + 1)]);
      let valid = true;
      try {
        JSON.parse(body.toString());
      } catch {
        valid = false;
      }
      if (valid) continue; // the damage happened to leave valid JSON (a changed string)
      const split = splitArrayBody(body, "issues", whole(body));
      if (split === null) continue;
      expect(() => [...split.elements], `seed ${seed}`).toThrow(SyntaxError);
      thrown++;
    }
    expect(thrown).toBeGreaterThan(50); // most damaged bodies still split: the fallback was exercised
  });

  it("falls back to the whole parse when a cut lands inside an element, once per page", () => {
    const body = Buffer.from(JSON.stringify({ issues: [{ id: "1", subtasks: [{ id: "a" }, { id: "b" }] }, { id: "2" }], isLast: true }));
    let wholeParses = 0;
    const split = splitArrayBody(body, "issues", () => (wholeParses++, whole(body)()));
    expect([...split!.elements]).toEqual([{ id: "1", subtasks: [{ id: "a" }, { id: "b" }] }, { id: "2" }]);
    expect(wholeParses).toBe(1);
  });

  it("does not split what it cannot vouch for", () => {
    const no = (text: string) => expect(splitArrayBody(Buffer.from(text), "issues", whole(Buffer.from(text)))).toBeNull();
    no('{ "issues": [{"id":"1"}], "isLast": true }'); // whitespace: not the compact shape
    no('{"issues":[],"isLast":true}'); // nothing to split
    no('{"isLast":true,"issues":[{"id":"1"}]}'); // the list is not the first member
    no('{"issues":[{"id":"1"}],"issues":[]}'); // a second list of the same name replaces the first
    no('{"issues":[1,2]}'); // not objects
  });

  it("reads non-ASCII text in an element the same as the whole parse", () => {
    expectSameAsWhole(Buffer.from(JSON.stringify({ issues: [{ id: "1", t: "naïve 😀" }, { id: "2", t: "Grüße" }], nextPageToken: "x" })));
  });
});
