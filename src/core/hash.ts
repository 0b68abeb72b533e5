import * as crypto from "node:crypto";

// Canonical JSON: object keys sorted, no whitespace, numbers in JavaScript's shortest form,
// `undefined` members dropped, and members named in `ignore` left out at any depth. Two payloads
// with the same content give the same text whatever order the server sent the keys in, so the
// hash only moves when the content does. This runs once per pulled issue: keep it lean.
//
// It is written byte by byte as UTF-8 into a buffer (CanonicalWriter), the form it is stored and
// hashed in. Built as a string, each member added two rope nodes (~14 KB of garbage per Jira
// issue, more than the parsed issue itself) and the rope was flattened and encoded again on its
// way into the buffer (measured: ~0.3 s less CPU per 100,000 issues, and a third of the
// decoder's young-generation collections).

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
  /** `"key":` for the first kept key, `,"key":` for the others, as UTF-8. */
  quoted: Uint8Array[];
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
  const made: Plan = { keys, kept, quoted: kept.map((k, i) => Buffer.from((i === 0 ? "" : ",") + JSON.stringify(k) + ":")) };
  if (bucket === undefined) {
    if (plans.size < MAX_SHAPES) plans.set(keys[0]!, [made]);
  } else if (bucket.length < SHAPES_PER_FIRST_KEY) bucket.push(made);
  return made;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;

/**
 * Appends canonical JSON, as UTF-8, to a buffer that it grows when full: `grow(buf, need,
 * length)` returns a buffer of at least `need` bytes holding the first `length` bytes of `buf`
 * (by default a new one of twice the size). The bytes written so far are `buf[0 .. length)`.
 */
export class CanonicalWriter {
  length = 0;
  constructor(
    public buf: Buffer,
    private readonly grow: (buf: Buffer, need: number, length: number) => Buffer = doubled,
  ) {}

  /** Appends the canonical JSON of `value`, members named in `ignore` left out at any depth. */
  write(value: unknown, ignore: ReadonlySet<string> = NO_KEYS): void {
    let plans = plansByIgnore.get(ignore);
    if (plans === undefined) plansByIgnore.set(ignore, (plans = new Map()));
    this.value(value, plans, ignore);
  }

  private room(n: number): void {
    if (this.length + n > this.buf.length) this.buf = this.grow(this.buf, this.length + n, this.length);
  }

  private byte(b: number): void {
    if (this.length === this.buf.length) this.room(1);
    this.buf[this.length++] = b;
  }

  /** A string's characters as they are (the caller escaped them). */
  private chars(s: string): void {
    const n = s.length;
    this.room(n * 3); // UTF-8 takes at most 3 bytes per UTF-16 unit
    const buf = this.buf;
    let at = this.length;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        // Not ASCII (rare in these payloads): the rest through Node's UTF-8 encoder.
        at += buf.write(s.slice(i), at);
        break;
      }
      buf[at++] = c;
    }
    this.length = at;
  }

  /**
   * A string value, quoted, escaped exactly as JSON.stringify escapes it. Most strings need no
   * escaping: they are copied as they are scanned, and the rare one that does is written again.
   */
  private string(s: string): void {
    const n = s.length;
    this.room(n * 3 + 2);
    const buf = this.buf;
    const start = this.length;
    let at = start;
    buf[at++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === QUOTE || c === BACKSLASH) return this.escaped(s, start);
      if (c >= 0x80) {
        // A surrogate (or an escape further on) needs JSON.stringify; else UTF-8 from here on.
        if (NEEDS_ESCAPE.test(s)) return this.escaped(s, start);
        at += buf.write(s.slice(i), at);
        break;
      }
      buf[at++] = c;
    }
    buf[at++] = QUOTE;
    this.length = at;
  }

  private escaped(s: string, start: number): void {
    this.length = start;
    this.chars(JSON.stringify(s));
  }

  private bytes(b: Uint8Array, from: number): void {
    const n = b.length;
    this.room(n);
    const buf = this.buf;
    let at = this.length;
    for (let i = from; i < n; i++) buf[at++] = b[i]!;
    this.length = at;
  }

  private value(value: unknown, plans: Plans, ignore: ReadonlySet<string>): void {
    switch (typeof value) {
      case "string":
        return this.string(value);
      case "number":
        this.chars(Number.isFinite(value) ? String(value) : "null");
        return;
      case "boolean":
        this.chars(value ? "true" : "false");
        return;
      case "object": {
        if (value === null) return this.chars("null");
        if (Array.isArray(value)) {
          this.byte(0x5b); // [
          for (let i = 0; i < value.length; i++) {
            if (i > 0) this.byte(COMMA);
            const item: unknown = value[i];
            if (item === undefined) this.chars("null");
            else this.value(item, plans, ignore);
          }
          return this.byte(0x5d); // ]
        }
        const obj = value as Record<string, unknown>;
        const keys = Object.keys(obj);
        if (keys.length === 0) return this.chars("{}");
        const { kept, quoted } = plan(keys, plans, ignore);
        this.byte(0x7b); // {
        let first = true;
        for (let i = 0; i < kept.length; i++) {
          const v = obj[kept[i]!];
          if (v === undefined) continue;
          // The comma is part of every quoted key but the first: a skipped first member moves it.
          if (first === (i === 0)) this.bytes(quoted[i]!, 0);
          else if (first) this.bytes(quoted[i]!, 1);
          else {
            this.byte(COMMA);
            this.bytes(quoted[i]!, 0);
          }
          first = false;
          this.value(v, plans, ignore);
        }
        return this.byte(0x7d); // }
      }
      default:
        this.chars("null");
    }
  }
}

function doubled(buf: Buffer, need: number, length: number): Buffer {
  const grown = Buffer.allocUnsafeSlow(Math.max(need, buf.length * 2));
  buf.copy(grown, 0, 0, length);
  return grown;
}

const SCRATCH_BYTES = 64 * 1024;
const scratch = new CanonicalWriter(Buffer.allocUnsafeSlow(SCRATCH_BYTES));

/** Canonical JSON as a string (the text of CanonicalWriter's bytes). */
export function canonicalJson(value: unknown, ignore: ReadonlySet<string> = NO_KEYS): string {
  scratch.length = 0;
  scratch.write(value, ignore);
  const text = scratch.buf.toString("utf8", 0, scratch.length);
  // One large value (a field catalog) does not keep its buffer for good.
  if (scratch.buf.length > 16 * SCRATCH_BYTES) scratch.buf = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  return text;
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
