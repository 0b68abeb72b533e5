import { describe, expect, it } from "vitest";
import { jsonText } from "../../src/http/json-text.js";

/** What JSON.parse makes of a text: the value, or the fact that it threw. */
function outcome(text: () => string): unknown {
  try {
    return { value: JSON.parse(text()) as unknown };
  } catch {
    return "throws";
  }
}
const same = (body: Buffer) => expect(outcome(() => jsonText(body))).toEqual(outcome(() => body.toString()));

describe("jsonText", () => {
  it("is the body itself when it is all ASCII", () => {
    const body = Buffer.from('{"a":"plain","n":[1,2,3]}');
    expect(jsonText(body)).toBe(body.toString());
  });

  it("parses to the same value as UTF-8 decoding, for accents, emoji and CJK far apart in a large page", () => {
    const issues = Array.from({ length: 400 }, (_, i) => ({
      key: `P-${i}`,
      name: i % 37 === 0 ? "José Müller" : "Jane Doe",
      resolution: i % 91 === 0 ? "Won’t Do" : null,
      text: i % 150 === 0 ? "ship it 🚀 → 日本語" : "x".repeat(200),
    }));
    const body = Buffer.from(JSON.stringify({ issues }));
    expect(JSON.parse(jsonText(body))).toEqual(JSON.parse(body.toString()));
    expect(JSON.parse(jsonText(body)).issues[0].name).toBe("José Müller");
  });

  it("replaces invalid UTF-8 exactly as Buffer#toString does", () => {
    for (const bytes of [
      [0x80], // a lone continuation byte
      [0xc3], // a lead byte cut short by the closing quote
      [0xc3, 0x41], // cut short by ASCII
      [0xed, 0xa0, 0x80], // an encoded surrogate
      [0xf0, 0x9f, 0x9a], // three of a four-byte sequence
      [0xff, 0xfe, 0xc3, 0xa9],
    ]) {
      const pad = Buffer.from("y".repeat(3000));
      same(Buffer.concat([Buffer.from('{"a":"'), pad, Buffer.from(bytes), Buffer.from('z"}')]));
    }
  });

  it("rejects what UTF-8 decoding rejects: non-ASCII outside a string, or after a backslash", () => {
    const pad = "y".repeat(3000);
    for (const text of [`{"a":"${pad}"}\u00a0`, `{"a":"${pad}\\é"}`, `{"a":"${pad}\\\\é"}`, `{"é":1}`, `é`]) {
      same(Buffer.from(text));
    }
    expect(() => JSON.parse(jsonText(Buffer.from(`{"a":"${pad}\\é"}`)))).toThrow();
  });

  it("agrees with UTF-8 decoding on random strings of mixed scripts", () => {
    // Mostly ASCII, as pages are, so most bodies take the escaping path rather than the fallback.
    const alphabet = [...Array<string>(150).fill("a"), "\\", '"', "\n", "é", "ß", "→", "日", "🚀", "\u2028", "\u0000", "\ud7ff", "\ue000"];
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    let escaped = 0;
    for (let t = 0; t < 200; t++) {
      const values = Array.from({ length: 1 + rand(50) }, () => Array.from({ length: rand(80) }, () => alphabet[rand(alphabet.length)]).join(""));
      const body = Buffer.from(JSON.stringify({ values, pad: "p".repeat(rand(20000)) }));
      const text = jsonText(body);
      if (text !== body.toString()) escaped++;
      expect(JSON.parse(text)).toEqual(JSON.parse(body.toString()));
    }
    expect(escaped).toBeGreaterThan(20); // the escaping path, not only the fallback, was checked
  });

  it("falls back to plain decoding for text dense in non-ASCII", () => {
    const body = Buffer.from(JSON.stringify({ t: "日本語のテキスト".repeat(2000) }));
    expect(jsonText(body) === body.toString()).toBe(true);
  });
});
