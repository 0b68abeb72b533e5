import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { toCsv } from "../../src/export/export.js";

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
});
