import { describe, expect, it } from "vitest";
import { adfToText } from "../../src/providers/jira/adf.js";

const doc = (...content: unknown[]) => ({ type: "doc", version: 1, content });
const p = (...content: unknown[]) => ({ type: "paragraph", content });
const t = (text: string, marks?: unknown[]) => ({ type: "text", text, ...(marks ? { marks } : {}) });

describe("adfToText (SPEC §10)", () => {
  it("separates blocks with a blank line and turns hard breaks into newlines", () => {
    const d = doc(p(t("First "), t("bold", [{ type: "strong" }])), p(t("line one"), { type: "hardBreak" }, t("line two")));
    expect(adfToText(d)).toBe("First bold\n\nline one\nline two");
  });
  it("writes list items as '- ', nested lists indented", () => {
    const item = (...c: unknown[]) => ({ type: "listItem", content: c });
    const d = doc(
      { type: "bulletList", content: [item(p(t("one"))), item(p(t("two")), { type: "orderedList", content: [item(p(t("two.a")))] })] },
      { type: "orderedList", content: [item(p(t("first")))] },
    );
    expect(adfToText(d)).toBe("- one\n- two\n  - two.a\n\n- first");
  });
  it("writes mentions as @Name, once", () => {
    const d = doc(p(t("ping "), { type: "mention", attrs: { id: "abc", text: "@Ana Lima" } }, t(" and "), { type: "mention", attrs: { id: "x", text: "Bo" } }));
    expect(adfToText(d)).toBe("ping @Ana Lima and @Bo");
  });
  it("keeps code verbatim", () => {
    const code = "if (a < b) {\n  return `x`;\n}\n";
    const d = doc(p(t("Run:")), { type: "codeBlock", attrs: { language: "js" }, content: [t(code)] });
    expect(adfToText(d)).toBe("Run:\n\n" + code.trimEnd());
  });
  it("handles null, plain strings, headings, quotes, rules and emoji", () => {
    expect(adfToText(null)).toBeNull();
    expect(adfToText("plain v2 text")).toBe("plain v2 text");
    const d = doc({ type: "heading", attrs: { level: 2 }, content: [t("Title")] }, { type: "blockquote", content: [p(t("quoted"))] }, { type: "rule" }, p({ type: "emoji", attrs: { shortName: ":smile:", text: "😄" } }));
    expect(adfToText(d)).toBe("Title\n\n> quoted\n\n---\n\n😄");
  });
});
