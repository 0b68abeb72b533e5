// Atlassian Document Format → plain text (SPEC §10): blocks separated by a blank line, list
// items as `- ` (nested lists indented by two spaces), hard breaks as newlines, mentions as
// `@Name`, code kept verbatim.

interface AdfNode {
  type?: string;
  text?: string;
  attrs?: Record<string, unknown>;
  content?: AdfNode[];
}

export function adfToText(doc: unknown): string | null {
  if (doc === null || doc === undefined) return null;
  if (typeof doc === "string") return doc; // API v2, or a plain-text field
  if (typeof doc !== "object") return String(doc);
  const text = blocks((doc as AdfNode).content ?? [], 0).join("\n\n");
  return text.replace(/\n{3,}/g, "\n\n").trim() === "" ? "" : text.replace(/[ \t]+$/gm, "").trimEnd();
}

function blocks(nodes: AdfNode[], depth: number): string[] {
  const out: string[] = [];
  for (const n of nodes) {
    const b = block(n, depth);
    if (b !== null && b !== "") out.push(b);
  }
  return out;
}

function block(n: AdfNode, depth: number): string | null {
  switch (n.type) {
    case "paragraph":
    case "heading":
      return inline(n.content ?? []);
    case "codeBlock":
      // Verbatim: the code's own text, without any fence or marks.
      return (n.content ?? []).map((c) => c.text ?? "").join("");
    case "bulletList":
    case "orderedList":
      return list(n, depth);
    case "blockquote":
      return blocks(n.content ?? [], depth)
        .join("\n\n")
        .split("\n")
        .map((l) => `> ${l}`)
        .join("\n");
    case "rule":
      return "---";
    case "panel":
    case "expand":
    case "nestedExpand":
    case "layoutSection":
    case "layoutColumn":
    case "bodiedExtension":
      return blocks(n.content ?? [], depth).join("\n\n");
    case "table":
      return (n.content ?? [])
        .map((row) => (row.content ?? []).map((cell) => blocks(cell.content ?? [], depth).join(" ").replace(/\n/g, " ")).join(" | "))
        .join("\n");
    case "mediaSingle":
    case "mediaGroup":
    case "media":
      return null;
    case "text":
    case "hardBreak":
    case "mention":
    case "emoji":
    case "inlineCard":
      return inline([n]);
    default:
      if (n.content) return blocks(n.content, depth).join("\n\n");
      return n.text ?? null;
  }
}

function list(n: AdfNode, depth: number): string {
  const indent = "  ".repeat(depth);
  const lines: string[] = [];
  for (const item of n.content ?? []) {
    const parts: string[] = [];
    for (const child of item.content ?? []) {
      if (child.type === "bulletList" || child.type === "orderedList") parts.push(list(child, depth + 1));
      else {
        const b = block(child, depth);
        if (b) parts.push(b.replace(/\n/g, `\n${indent}  `));
      }
    }
    const [first = "", ...rest] = parts;
    lines.push(`${indent}- ${first}`, ...rest);
  }
  return lines.join("\n");
}

function inline(nodes: AdfNode[]): string {
  let s = "";
  for (const n of nodes) {
    switch (n.type) {
      case "text":
        s += n.text ?? "";
        break;
      case "hardBreak":
        s += "\n";
        break;
      case "mention": {
        const t = String(n.attrs?.text ?? n.attrs?.id ?? "");
        s += t.startsWith("@") ? t : `@${t}`;
        break;
      }
      case "emoji":
        s += String(n.attrs?.text ?? n.attrs?.shortName ?? "");
        break;
      case "inlineCard":
      case "blockCard":
        s += String(n.attrs?.url ?? "");
        break;
      case "status":
        s += String(n.attrs?.text ?? "");
        break;
      case "date": {
        const ts = Number(n.attrs?.timestamp);
        s += Number.isFinite(ts) ? new Date(ts).toISOString().slice(0, 10) : "";
        break;
      }
      default:
        if (n.content) s += inline(n.content);
        else if (n.text) s += n.text;
    }
  }
  return s;
}

// Plain text → ADF, for writes: the reverse of adfToText for plain text, so that
// adfToText(textToAdf(s)) === s for ordinary text. A blank line separates paragraphs, a single
// newline is a hard break, and a block whose every line starts with `- ` is a bullet list.

export interface AdfDoc {
  type: "doc";
  version: 1;
  content: AdfNode[];
}

export function textToAdf(text: string): AdfDoc {
  const content: AdfNode[] = [];
  for (const block of text.replace(/\r\n?/g, "\n").split("\n\n")) {
    if (block === "") continue;
    const lines = block.split("\n");
    if (lines.every((l) => /^- \S/.test(l))) {
      content.push({ type: "bulletList", content: lines.map((l) => ({ type: "listItem", content: [paragraph(l.slice(2))] })) });
    } else content.push(paragraph(block));
  }
  return { type: "doc", version: 1, content };
}

function paragraph(text: string): AdfNode {
  const nodes: AdfNode[] = [];
  text.split("\n").forEach((line, k) => {
    if (k > 0) nodes.push({ type: "hardBreak" });
    // ADF forbids empty text nodes.
    if (line !== "") nodes.push({ type: "text", text: line });
  });
  return { type: "paragraph", content: nodes };
}
