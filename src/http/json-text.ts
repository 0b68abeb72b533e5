import { isAscii } from "node:buffer";

/**
 * The text of a UTF-8 JSON body, as `JSON.parse` will read it: the same value as `body.toString()`,
 * but kept in V8's one-byte representation. A page is nearly all ASCII, yet a single "é" in one
 * name makes V8 decode the whole page into a two-byte string, which costs about three times a
 * one-byte copy, and every string parsed from it follows. Here each run of non-ASCII bytes is
 * decoded on its own and written as `\uXXXX` escapes; outside a string such bytes were invalid
 * JSON and the escapes are too, so `JSON.parse` accepts and rejects exactly what it did before.
 */
export function jsonText(body: Buffer): string {
  const n = body.length;
  let out = "";
  let last = 0;
  let cost = 0;
  for (let c = 0; c < n; c += CHUNK) {
    const end = Math.min(n, c + CHUNK);
    // Node's isAscii is vectorised; only the rare chunk with a non-ASCII byte is walked here.
    if (isAscii(body.subarray(c, end))) continue;
    for (let i = Math.max(c, last); i < end; i++) {
      if (body[i]! < 0x80) continue;
      // After a backslash the escape would turn "\é" (invalid) into "\\u00e9" (valid).
      if (body[i - 1] === BACKSLASH) return body.toString();
      let j = i + 1;
      while (j < n && body[j]! >= 0x80) j++;
      // Each run costs a slice and a concatenation, each byte an escape: past a few per
      // kilobyte, the ordinary decoding is the faster.
      cost += RUN_COST + j - i;
      if (cost > n >> 4) return body.toString();
      out += body.toString("latin1", last, i) + escapeUnits(body.toString("utf8", i, j));
      last = j;
      i = j - 1;
    }
  }
  return last === 0 ? body.toString("latin1") : out + body.toString("latin1", last, n);
}

const CHUNK = 1024;
const RUN_COST = 32;
const BACKSLASH = 0x5c;
const HEX = "0123456789abcdef";

function escapeUnits(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    out += "\\u" + HEX[u >> 12]! + HEX[(u >> 8) & 15]! + HEX[(u >> 4) & 15]! + HEX[u & 15]!;
  }
  return out;
}
