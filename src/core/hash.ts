import { createHash } from "node:crypto";

// Canonical JSON: object keys sorted, no whitespace, numbers in JavaScript's shortest form,
// `undefined` members dropped. Two payloads with the same content give the same text whatever
// order the server sent the keys in, so the hash only moves when the content does.
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
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
          out += item === undefined ? "null" : canonicalJson(item);
        }
        return out + "]";
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = "{";
      let first = true;
      for (const key of keys) {
        const v = obj[key];
        if (v === undefined) continue;
        if (!first) out += ",";
        first = false;
        out += JSON.stringify(key) + ":" + canonicalJson(v);
      }
      return out + "}";
    }
    default:
      return "null";
  }
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
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
