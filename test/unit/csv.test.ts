import { describe, expect, it } from "vitest";
import { inertCell } from "../../src/export/export.js";

describe("inertCell (SPEC §10)", () => {
  it("prefixes cells a spreadsheet would run as a formula", () => {
    for (const s of ["=SUM(A1)", "+1", "-1", "@cmd", "\tx", "\rx"]) expect(inertCell(s)).toBe(`'${s}`);
  });
  it("leaves other cells alone", () => {
    for (const s of ["plain", "a=b", " =x", "", "1-2"]) expect(inertCell(s)).toBe(s);
  });
});
