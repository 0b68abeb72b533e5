// Values of source fields as they sit in stored payloads, turned into what a unified column or a
// `custom.<slug>` export column holds, and into short text for reasons and the review screen.

import { adfToText } from "../providers/jira/adf.js";
import type { UnifiedTarget } from "./targets.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === "string" && v.trim() !== "";

/** An Atlassian document (rich text) rather than a plain object. */
const isAdf = (v: Obj) => v.type === "doc" && Array.isArray(v.content);

/** The name a person reads for an object value: a user, an option, a sprint, a version, an issue. */
function objectText(o: Obj): string | null {
  if (isAdf(o)) return adfToText(o);
  for (const k of ["displayName", "name", "value", "key", "title", "login"] as const) {
    const v = o[k];
    if (nonEmpty(v)) {
      // Cascading selects: "Hardware / Laptop".
      const child = isObj(o.child) ? objectText(o.child) : null;
      return child ? `${v} / ${child}` : v;
    }
  }
  return null;
}

/** One value as short text (lists joined with ", "); null when there is nothing to show. */
export function display(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v.trim() === "" ? null : v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) {
    const parts = v.map(display).filter((x): x is string => x !== null);
    return parts.length ? parts.join(", ") : null;
  }
  if (isObj(v)) return objectText(v) ?? memberText(v);
  return null;
}

/** An object without a name (Jira time tracking): its text members, "originalEstimate 1d, …". */
function memberText(o: Obj): string | null {
  const parts = Object.entries(o)
    .filter(([, x]) => typeof x === "string" && x.trim() !== "")
    .map(([k, x]) => `${k} ${String(x)}`);
  return parts.length ? parts.join(", ") : JSON.stringify(o);
}

/** A value kept as `custom.<slug>`: scalars as they are, lists of names, objects by their name. */
export function customValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return v.trim() === "" ? null : v;
  if (typeof v === "number" || typeof v === "boolean") return v;
  if (Array.isArray(v)) {
    const items = v.map(customValue).filter((x) => x !== null);
    return items.length ? items.map((x) => (isObj(x) ? JSON.stringify(x) : x)) : null;
  }
  if (isObj(v)) {
    const text = objectText(v);
    // Objects without a readable name (time tracking, progress) stay whole: JSON exports keep them.
    return text ?? v;
  }
  return null;
}

function num(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return null;
}

/** The active sprint if there is one, else the most recent (the order Jira lists them in). */
function sprintText(v: unknown): string | null {
  if (Array.isArray(v)) {
    const items = v.filter((x) => x !== null && x !== undefined);
    if (!items.length) return null;
    const active = items.find((x) => isObj(x) && x.state === "active");
    return sprintText(active ?? items[items.length - 1]);
  }
  return display(v);
}

const ISSUE_KEY = /^[A-Z][A-Z0-9_]*-\d+$/;

function parentText(v: unknown): string | null {
  if (nonEmpty(v)) return v;
  if (typeof v === "number") return `#${v}`;
  if (isObj(v)) {
    if (nonEmpty(v.key)) return v.key;
    const data = isObj(v.data) ? v.data : null;
    if (data && nonEmpty(data.key)) return data.key;
    if (typeof v.id === "number") return `#${v.id}`;
    return display(v);
  }
  return null;
}

/** A source value as the unified column `target` holds it, or null when it does not fit. */
export function toTarget(target: UnifiedTarget, v: unknown): string | number | string[] | null {
  if (v === null || v === undefined) return null;
  switch (target) {
    case "story_points":
      return num(v);
    case "sprint":
      return sprintText(v);
    case "due_date": {
      const s = typeof v === "string" ? v : null;
      return s && /^\d{4}-\d{2}-\d{2}/.test(s) ? s.slice(0, 10) : null;
    }
    case "labels": {
      const list = (Array.isArray(v) ? v : [v]).map(display).filter((x): x is string => x !== null);
      return list.length ? list : null;
    }
    case "parent":
      return parentText(v);
    default:
      return Array.isArray(v) ? display(v[0]) : display(v);
  }
}

/** Whether a value looks like an issue key (`PROJ-12`), for the parent signal. */
export const looksLikeKey = (v: unknown): boolean => {
  const t = parentText(v);
  return t !== null && (ISSUE_KEY.test(t) || /^#\d+$/.test(t));
};

export { isObj, num };
