import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { toCsv, Utf8Lines } from "../../src/export/export.js";

describe("toCsv (SPEC §8, §10)", () => {
  it("prefixes cells a spreadsheet would run as a formula, even multi-line ones", () => {
    const cells = ["=SUM(A1)", "+1", "-1", "@cmd", "\tx", "\rx", "=HYPERLINK(\"x\")\nsecond line"];
    const parsed = Papa.parse<string[]>(toCsv([cells]), { newline: "\r\n" }).data[0]!;
    expect(parsed).toEqual(cells.map((c) => `'${c}`));
  });
  it("leaves other cells alone", () => {
    const cells = ["plain", "a=b", "1-2", "", "x@y"];
    expect(toCsv([cells])).toBe("plain,a=b,1-2,,x@y\r\n");
  });
  it("quotes per RFC 4180: commas, quotes, CR and LF (a bare LF too), CRLF between records", () => {
    const out = toCsv([["a,b", 'say "hi"', "line1\nline2", "cr\rlf"], ["x", "y", "z", "w"]]);
    expect(out).toBe('"a,b","say ""hi""","line1\nline2","cr\rlf"\r\nx,y,z,w\r\n');
  });
  it("writes what papaparse's unparse writes, on random cells", () => {
    const parts = ["a", "B", " ", ",", '"', "\r", "\n", "\r\n", "\t", "=", "+", "-", "@", "é", "→", "\ufeff", "x y", "1.5", "'"];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const cell = () => Array.from({ length: Math.floor(random() * 5) }, () => parts[Math.floor(random() * parts.length)]).join("");
    for (let n = 0; n < 300; n++) {
      const rows = Array.from({ length: 1 + Math.floor(random() * 3) }, () => Array.from({ length: 1 + Math.floor(random() * 4) }, cell));
      const papa = Papa.unparse(rows, { newline: "\r\n", header: false, escapeFormulae: /^[=+\-@\t\r]/ }) + "\r\n";
      expect(toCsv(rows)).toBe(papa);
    }
  });
});

describe("Utf8Lines (export chunks as UTF-8)", () => {
  it("holds exactly the UTF-8 of what was written, across many growths, whatever the characters", () => {
    const parts = ["a", "line\r\n", "é", "ß", "—", "日本", "😀", "\u0000", "x".repeat(700), "Ł".repeat(400), "😀".repeat(300)];
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 20; round++) {
      const out = new Utf8Lines(1);
      const texts: string[] = [];
      for (let n = 0; n < 200; n++) {
        const text = Array.from({ length: Math.floor(random() * 6) }, () => parts[Math.floor(random() * parts.length)]).join("");
        texts.push(text);
        out.write(text);
      }
      const bytes = out.bytes();
      expect(Buffer.from(bytes).equals(Buffer.from(texts.join("")))).toBe(true);
      // Its own ArrayBuffer: an export thread transfers it.
      expect(bytes.byteOffset).toBe(0);
    }
  });
});
