import * as crypto from "node:crypto";

// Canonical JSON: object keys sorted, no whitespace, numbers in JavaScript's shortest form,
// `undefined` members dropped, and members named in `ignore` left out at any depth. Two payloads
// with the same content give the same text whatever order the server sent the keys in, so the
// hash only moves when the content does. This runs once per pulled issue: keep it lean.

const NO_KEYS: ReadonlySet<string> = new Set();
// Strings without quotes, backslashes, control characters or surrogates need no escaping.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

// Payloads repeat a few object shapes (a user, a status, an ADF node) thousands of times. For a
// key list seen before, the plan (the keys kept, in sorted order, each already quoted with its
// comma) is looked up instead of sorted, filtered and quoted again: by first key, then compared
// key by key. Bounded, so data-shaped keys cannot grow it. One cache per set of ignored keys.
interface Plan {
  keys: string[];
  kept: string[];
  /** `"key":` for the first kept key, `,"key":` for the others. */
  quoted: string[];
}
type Plans = Map<string, Plan[]>;
const plansByIgnore = new WeakMap<ReadonlySet<string>, Plans>();
const MAX_SHAPES = 2_000;
const SHAPES_PER_FIRST_KEY = 16;

function plan(keys: string[], plans: Plans, ignore: ReadonlySet<string>): Plan {
  const n = keys.length;
  const bucket = plans.get(keys[0]!);
  if (bucket !== undefined) {
    next: for (let b = 0; b < bucket.length; b++) {
      const seen = bucket[b]!;
      if (seen.keys.length !== n) continue;
      for (let i = 1; i < n; i++) if (seen.keys[i] !== keys[i]) continue next;
      return seen;
    }
  }
  const kept = keys.slice().sort().filter((k) => !ignore.has(k));
  const made: Plan = { keys, kept, quoted: kept.map((k, i) => (i === 0 ? "" : ",") + JSON.stringify(k) + ":") };
  if (bucket === undefined) {
    if (plans.size < MAX_SHAPES) plans.set(keys[0]!, [made]);
  } else if (bucket.length < SHAPES_PER_FIRST_KEY) bucket.push(made);
  return made;
}

export function canonicalJson(value: unknown, ignore: ReadonlySet<string> = NO_KEYS): string {
  let plans = plansByIgnore.get(ignore);
  if (plans === undefined) plansByIgnore.set(ignore, (plans = new Map()));
  return canonical(value, plans, ignore);
}

function canonical(value: unknown, plans: Plans, ignore: ReadonlySet<string>): string {
  switch (typeof value) {
    case "string":
      return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          const item: unknown = value[i];
          out += item === undefined ? "null" : canonical(item, plans, ignore);
        }
        return out + "]";
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj);
      if (keys.length === 0) return "{}";
      const { kept, quoted } = plan(keys, plans, ignore);
      let out = "{";
      let first = true;
      for (let i = 0; i < kept.length; i++) {
        const v = obj[kept[i]!];
        if (v === undefined) continue;
        // The comma is part of every quoted key but the first: a skipped first member moves it.
        if (first === (i === 0)) out += quoted[i]!;
        else out += first ? quoted[i]!.slice(1) : "," + quoted[i]!;
        first = false;
        out += canonical(v, plans, ignore);
      }
      return out + "}";
    }
    default:
      return "null";
  }
}

// crypto.hash (Node ≥ 20.12) skips the Hash object createHash builds per call: ~0.08 s less per
// 100,000 payloads on the thread that writes. Older Node 20 releases use createHash.
const oneShot = (crypto as { hash?: (algorithm: string, data: string | Uint8Array, encoding: "hex") => string }).hash;

/** SHA-256 of a text (as UTF-8) or of bytes: the same digest for the same UTF-8 bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return oneShot ? oneShot("sha256", data, "hex") : crypto.createHash("sha256").update(data).digest("hex");
}

/**
 * Removes volatile members (dot paths such as `fields.lastViewed`) from a payload in place.
 * Volatile members change without anybody editing the issue (view times, counters), so they
 * must not move the content hash.
 */
export function stripPaths(value: unknown, paths: readonly (readonly string[])[]): void {
  for (const path of paths) {
    let node: unknown = value;
    for (let i = 0; i < path.length - 1; i++) {
      if (node === null || typeof node !== "object") break;
      node = (node as Record<string, unknown>)[path[i]!];
    }
    if (node !== null && typeof node === "object") delete (node as Record<string, unknown>)[path[path.length - 1]!];
  }
}
