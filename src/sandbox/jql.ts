// A JQL subset with Jira's semantics and error messages:
//   project = KEY | project in (A, B) | key = X | key in (…) | id = 10042 | issuekey …
//   updated|created  >= > <= < = !=  <date literal | epoch ms | relative period | now() …>
//   AND / OR / NOT / parentheses, ORDER BY updated|created|key|id|project ASC|DESC, …
//
// Date literals (`"yyyy-MM-dd HH:mm"`, `"yyyy/MM/dd HH:mm"`, `yyyy-MM-dd`, `yyyy/MM/dd`) are read
// in the account's profile time zone at minute precision, as Jira Cloud does; a bare integer is
// epoch milliseconds (truncated to its minute); `-5d`, `-2h`, `-10m`, `-1w`, `"4w 2d"` are
// relative to now.

import type { ZoneClock } from "./time.js";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "./time.js";

export class JqlError extends Error {
  /** The text Jira puts in `errorMessages`. */
  constructor(message: string) {
    super(message);
    this.name = "JqlError";
  }
}

export type TimeOp = ">=" | ">" | "<=" | "<" | "=" | "!=";

export type Cond =
  | { k: "and"; items: Cond[] }
  | { k: "or"; items: Cond[] }
  | { k: "not"; item: Cond }
  | { k: "project"; neg: boolean; set: number[] }
  | { k: "issue"; neg: boolean; set: Set<number> }
  | { k: "time"; field: "updated" | "created"; op: TimeOp; ms: number };

export type SortField = "updated" | "created" | "key" | "id" | "project";
export interface SortSpec {
  field: SortField;
  desc: boolean;
}

export interface Query {
  where: Cond | null;
  orderBy: SortSpec[];
  /** Every resolved time value, in order: with the JQL text it identifies the query exactly. */
  times: number[];
}

export interface JqlContext {
  zone: ZoneClock;
  now: number;
  /** Project index for a key, id or name; undefined when unknown. */
  project(value: string): number | undefined;
  /** Live issue index for a key or id; -1 when it does not exist. */
  issue(value: string): number;
}

type TokKind = "word" | "str" | "op" | "lp" | "rp" | "comma" | "eof";
interface Tok {
  kind: TokKind;
  text: string;
  pos: number;
}

const DELIMS = new Set([" ", "\t", "\n", "\r", "(", ")", ",", "=", "!", "<", ">", "~", '"', "'", "&", "|"]);

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i] ?? "";
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      i++;
      continue;
    }
    const pos = i;
    if (ch === "(") out.push({ kind: "lp", text: ch, pos }), i++;
    else if (ch === ")") out.push({ kind: "rp", text: ch, pos }), i++;
    else if (ch === ",") out.push({ kind: "comma", text: ch, pos }), i++;
    else if (ch === "&" && src[i + 1] === "&") out.push({ kind: "word", text: "AND", pos }), (i += 2);
    else if (ch === "|" && src[i + 1] === "|") out.push({ kind: "word", text: "OR", pos }), (i += 2);
    else if (ch === '"' || ch === "'") {
      let j = i + 1;
      let text = "";
      while (j < src.length && src[j] !== ch) {
        if (src[j] === "\\" && j + 1 < src.length) {
          const next = src[j + 1] ?? "";
          text += next === "n" ? "\n" : next === "t" ? "\t" : next;
          j += 2;
        } else {
          text += src[j];
          j++;
        }
      }
      if (j >= src.length) throw syntax(`The quoted string '${text}' has not been completed.`, src, pos);
      out.push({ kind: "str", text, pos });
      i = j + 1;
    } else if (ch === "!" || ch === "<" || ch === ">" || ch === "=" || ch === "~") {
      const two = src.slice(i, i + 2);
      if (two === "!=" || two === "<=" || two === ">=" || two === "!~") out.push({ kind: "op", text: two, pos }), (i += 2);
      else if (ch === "!") out.push({ kind: "word", text: "NOT", pos }), i++;
      else out.push({ kind: "op", text: ch, pos }), i++;
    } else if (ch === "&" || ch === "|") {
      throw syntax(`The character '${ch}' is a reserved JQL character. You must enclose it in a string or use the escape '\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}' instead.`, src, pos);
    } else {
      let j = i;
      while (j < src.length && !DELIMS.has(src[j] ?? " ")) j++;
      out.push({ kind: "word", text: src.slice(i, j), pos });
      i = j;
    }
  }
  out.push({ kind: "eof", text: "<EOF>", pos: src.length });
  return out;
}

function where(src: string, pos: number): string {
  // Jira counts lines and characters from 1.
  const before = src.slice(0, pos);
  const line = before.split("\n").length;
  const col = pos - (before.lastIndexOf("\n") + 1) + 1;
  return `(line ${line}, character ${col})`;
}

function syntax(message: string, src: string, pos: number): JqlError {
  return new JqlError(`Error in the JQL Query: ${message} ${where(src, pos)}`);
}

const RESERVED = new Set(["AND", "OR", "NOT", "IN", "IS", "ORDER", "BY", "EMPTY", "NULL", "WAS", "CHANGED", "ASC", "DESC"]);

const FIELD_ALIASES: Record<string, "project" | "issue" | "updated" | "created"> = {
  project: "project",
  key: "issue",
  issuekey: "issue",
  issue: "issue",
  id: "issue",
  updated: "updated",
  updateddate: "updated",
  created: "created",
  createddate: "created",
};

/** Real Jira fields the sandbox knows but does not search on. */
const KNOWN_UNSUPPORTED = new Set(
  [
    "status", "statuscategory", "assignee", "reporter", "creator", "summary", "description", "text", "labels",
    "priority", "type", "issuetype", "resolution", "resolved", "resolutiondate", "sprint", "parent", "component",
    "fixversion", "affectedversion", "due", "duedate", "watcher", "watchers", "votes", "comment", "environment",
    "lastviewed", "team", "story points", "story point estimate", "severity", "customer impact", "rank", "level",
    "statuscategorychangeddate", "attachments", "worklogdate", "timespent", "originalestimate", "remainingestimate",
  ],
);

const SORT_FIELDS: Record<string, SortField> = {
  updated: "updated",
  updateddate: "updated",
  created: "created",
  createddate: "created",
  key: "key",
  issuekey: "key",
  id: "id",
  issue: "key",
  project: "project",
};

class Parser {
  private p = 0;
  readonly times: number[] = [];
  constructor(
    private readonly src: string,
    private readonly toks: Tok[],
    private readonly ctx: JqlContext,
  ) {}

  private peek(): Tok {
    return this.toks[this.p] ?? { kind: "eof", text: "<EOF>", pos: this.src.length };
  }
  private next(): Tok {
    const t = this.peek();
    if (t.kind !== "eof") this.p++;
    return t;
  }
  private isWord(t: Tok, w: string): boolean {
    return t.kind === "word" && t.text.toUpperCase() === w;
  }

  parse(): Query {
    let cond: Cond | null = null;
    if (this.peek().kind !== "eof" && !this.isWord(this.peek(), "ORDER")) cond = this.parseOr();
    const orderBy: SortSpec[] = [];
    const t = this.peek();
    if (this.isWord(t, "ORDER")) {
      this.next();
      const by = this.next();
      if (!this.isWord(by, "BY")) throw syntax(`Expecting 'BY' but got '${by.text}'.`, this.src, by.pos);
      for (;;) {
        const f = this.next();
        if (f.kind !== "word" && f.kind !== "str") throw syntax(`Expecting a field name but got '${f.text}'.`, this.src, f.pos);
        const name = f.text.toLowerCase();
        const field = SORT_FIELDS[name];
        if (!field) {
          if (KNOWN_UNSUPPORTED.has(name)) throw new JqlError(`Error in the JQL Query: the sandbox cannot sort by '${f.text}' (it sorts by updated, created, key, id and project).`);
          throw new JqlError(`Field '${f.text}' does not exist or you do not have permission to view it.`);
        }
        let desc = false;
        const dir = this.peek();
        if (this.isWord(dir, "ASC")) this.next();
        else if (this.isWord(dir, "DESC")) {
          this.next();
          desc = true;
        }
        orderBy.push({ field, desc });
        if (this.peek().kind === "comma") {
          this.next();
          continue;
        }
        break;
      }
    } else if (t.kind !== "eof") {
      throw syntax(`Expecting either 'OR' or 'AND' but got '${t.text}'.`, this.src, t.pos);
    }
    const end = this.peek();
    if (end.kind !== "eof") throw syntax(`Expecting ',' but got '${end.text}'.`, this.src, end.pos);
    return { where: cond, orderBy, times: this.times };
  }

  private parseOr(): Cond {
    const items = [this.parseAnd()];
    while (this.isWord(this.peek(), "OR")) {
      this.next();
      items.push(this.parseAnd());
    }
    return items.length === 1 ? (items[0] as Cond) : { k: "or", items };
  }

  private parseAnd(): Cond {
    const items = [this.parseUnary()];
    while (this.isWord(this.peek(), "AND")) {
      this.next();
      items.push(this.parseUnary());
    }
    return items.length === 1 ? (items[0] as Cond) : { k: "and", items };
  }

  private parseUnary(): Cond {
    const t = this.peek();
    if (this.isWord(t, "NOT")) {
      this.next();
      return { k: "not", item: this.parseUnary() };
    }
    if (t.kind === "lp") {
      this.next();
      const inner = this.parseOr();
      const close = this.next();
      if (close.kind !== "rp") throw syntax(`Expecting ')' but got '${close.text}'.`, this.src, close.pos);
      return inner;
    }
    return this.parseClause();
  }

  private parseClause(): Cond {
    const f = this.next();
    if ((f.kind !== "word" && f.kind !== "str") || (f.kind === "word" && RESERVED.has(f.text.toUpperCase()))) {
      throw syntax(`Expecting a field name but got '${f.text}'. You must surround '${f.text}' in quotation marks to use it as a field name.`, this.src, f.pos);
    }
    const name = f.text.toLowerCase();
    const field = FIELD_ALIASES[name];
    // The operator comes before any check of the field, as in Jira's grammar.
    const opTok = this.next();
    let op: string;
    if (opTok.kind === "op") op = opTok.text;
    else if (this.isWord(opTok, "IN")) op = "IN";
    else if (this.isWord(opTok, "NOT") && this.isWord(this.peek(), "IN")) {
      this.next();
      op = "NOT IN";
    } else if (this.isWord(opTok, "IS")) {
      op = "IS";
      if (this.isWord(this.peek(), "NOT")) {
        this.next();
        op = "IS NOT";
      }
    } else if (this.isWord(opTok, "WAS") || this.isWord(opTok, "CHANGED")) {
      op = opTok.text.toUpperCase();
    } else {
      throw syntax(
        `Expecting operator but got '${opTok.text}'. The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'.`,
        this.src,
        opTok.pos,
      );
    }
    const values = this.parseOperand(op);
    if (!field) {
      if (KNOWN_UNSUPPORTED.has(name) || /^cf\[\d+\]$/.test(name)) {
        throw new JqlError(`Error in the JQL Query: the sandbox does not search on '${f.text}' (it supports project, key, id, created and updated).`);
      }
      throw new JqlError(`Field '${f.text}' does not exist or you do not have permission to view it.`);
    }
    const unsupported = (): JqlError => new JqlError(`The operator '${op.toLowerCase() === op ? op : op.toLowerCase()}' is not supported by the '${f.text}' field.`);

    if (field === "project" || field === "issue") {
      if (op !== "=" && op !== "!=" && op !== "IN" && op !== "NOT IN") throw unsupported();
      const neg = op === "!=" || op === "NOT IN";
      if (field === "project") {
        const set: number[] = [];
        for (const v of values) {
          const p = this.ctx.project(v.text);
          if (p === undefined) throw new JqlError(`The value '${v.text}' does not exist for the field '${f.text}'.`);
          if (!set.includes(p)) set.push(p);
        }
        return { k: "project", neg, set };
      }
      const set = new Set<number>();
      for (const v of values) {
        const i = this.ctx.issue(v.text);
        if (i < 0) throw new JqlError(`An issue with key '${v.text}' does not exist for field '${f.text}'.`);
        set.add(i);
      }
      return { k: "issue", neg, set };
    }

    if (op !== ">=" && op !== ">" && op !== "<=" && op !== "<" && op !== "=" && op !== "!=") throw unsupported();
    const v = values[0];
    if (!v || values.length !== 1) throw unsupported();
    const ms = v.fn !== undefined ? this.fnTime(v.fn, v.args ?? [], f.text) : this.literalTime(v.text, f.text);
    this.times.push(ms);
    return { k: "time", field, op, ms };
  }

  /** The value(s) after an operator: a value, a list `(a, b)`, a function call, or EMPTY. */
  private parseOperand(op: string): { text: string; fn?: string; args?: string[] }[] {
    const t = this.peek();
    if (op === "IN" || op === "NOT IN") {
      if (t.kind !== "lp") throw syntax(`Expecting '(' but got '${t.text}'.`, this.src, t.pos);
      this.next();
      const out: { text: string }[] = [];
      for (;;) {
        const v = this.next();
        if (v.kind !== "word" && v.kind !== "str") throw this.expectingValue(v);
        out.push({ text: v.text });
        const sep = this.next();
        if (sep.kind === "comma") continue;
        if (sep.kind === "rp") break;
        throw syntax(`Expecting ',' or ')' but got '${sep.text}'.`, this.src, sep.pos);
      }
      return out;
    }
    const v = this.next();
    if (v.kind === "word" && (v.text.toUpperCase() === "EMPTY" || v.text.toUpperCase() === "NULL")) return [{ text: "EMPTY", fn: "EMPTY" }];
    if (v.kind !== "word" && v.kind !== "str") throw this.expectingValue(v);
    if (v.kind === "word" && RESERVED.has(v.text.toUpperCase())) throw this.expectingValue(v);
    if (v.kind === "word" && this.peek().kind === "lp") {
      this.next();
      const args: string[] = [];
      while (this.peek().kind !== "rp") {
        const a = this.next();
        if (a.kind === "eof") throw syntax(`Expecting ')' but got '<EOF>'.`, this.src, a.pos);
        if (a.kind === "word" || a.kind === "str") args.push(a.text);
        if (this.peek().kind === "comma") this.next();
      }
      this.next();
      return [{ text: `${v.text}()`, fn: v.text, args }];
    }
    return [{ text: v.text }];
  }

  private expectingValue(v: Tok): JqlError {
    return syntax(
      `Expecting either a value, list or function but got '${v.text}'. You must surround '${v.text}' in quotation marks to use it as a value.`,
      this.src,
      v.pos,
    );
  }

  private literalTime(text: string, field: string): number {
    const ms = parseDateLiteral(text, this.ctx.zone, this.ctx.now);
    if (ms === undefined) {
      throw new JqlError(
        `Date value '${text}' for field '${field}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.`,
      );
    }
    return ms;
  }

  private fnTime(fn: string, args: string[], field: string): number {
    const name = fn.toLowerCase();
    if (name === "empty") throw new JqlError(`The operator is not supported by the '${field}' field when the value is EMPTY.`);
    const shift = args[0] !== undefined ? parseRelative(args[0]) : 0;
    if (shift === undefined) throw new JqlError(`Error in the JQL Query: the argument '${args[0] ?? ""}' of '${fn}()' is not a period such as '-1d'.`);
    const zone = this.ctx.zone;
    const now = this.ctx.now;
    if (name === "now") return floorMinute(now + shift);
    if (name === "startofday" || name === "endofday") {
      const d = zone.wallParts(now + shift);
      const start = zone.localToEpoch(d.year, d.month, d.day);
      if (name === "startofday") return start;
      const w = zone.wallParts(start + 36 * HOUR_MS);
      return zone.localToEpoch(w.year, w.month, w.day) - MINUTE_MS;
    }
    throw new JqlError(`Unable to find JQL function '${fn}(${args.join(", ")})'.`);
  }
}

function floorMinute(ms: number): number {
  return Math.floor(ms / MINUTE_MS) * MINUTE_MS;
}

/** Milliseconds of a relative period such as `-5d`, `-10m`, `"4w 2d"`; undefined if not one. */
export function parseRelative(text: string): number | undefined {
  const m = /^\s*([-+]?)\s*((?:\d+\s*[wdhm]\s*)+)$/i.exec(text);
  if (!m) return undefined;
  const sign = m[1] === "-" ? -1 : 1;
  let total = 0;
  const unit: Record<string, number> = { w: 7 * DAY_MS, d: DAY_MS, h: HOUR_MS, m: MINUTE_MS };
  for (const part of (m[2] ?? "").matchAll(/(\d+)\s*([wdhm])/gi)) {
    total += Number(part[1]) * (unit[(part[2] ?? "m").toLowerCase()] ?? 0);
  }
  return sign * total;
}

/**
 * A JQL date value as epoch milliseconds, at minute precision, reading calendar values in the
 * given zone. Undefined when the text is not a date Jira accepts.
 */
export function parseDateLiteral(text: string, zone: ZoneClock, now: number): number | undefined {
  const s = text.trim();
  if (/^\d+$/.test(s)) return floorMinute(Number(s));
  const m = /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$/.exec(s);
  if (m) {
    const year = Number(m[1]);
    const month = Number(m[3]);
    const day = Number(m[4]);
    const hour = m[5] !== undefined ? Number(m[5]) : 0;
    const minute = m[6] !== undefined ? Number(m[6]) : 0;
    const probe = new Date(Date.UTC(year, month - 1, day));
    if (probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day || hour > 23 || minute > 59) return undefined;
    return zone.localToEpoch(year, month, day, hour, minute);
  }
  const rel = parseRelative(s);
  if (rel !== undefined) return floorMinute(now + rel);
  return undefined;
}

export function parseJql(jql: string, ctx: JqlContext): Query {
  const parser = new Parser(jql, tokenize(jql), ctx);
  return parser.parse();
}
