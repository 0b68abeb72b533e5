// The sandbox's write side, as Jira Cloud REST v3 has it: the edit body of
// `PUT /rest/api/3/issue/{key}` (`fields` and `update`), the workflow behind
// `/issue/{key}/transitions`, `editmeta`, and the user searches that resolve assignees.
// Pure functions over the dataset's state; server.ts routes the requests and applies the result.

import { accountIdOf, emailOf, FIELD_BY_ID, PRIORITIES, RESOLUTIONS, R_DONE, R_WONTDO, ST_DONE, ST_PROGRESS, ST_REVIEW, ST_TODO, ST_WONTDO, USERS, type SiteCatalog } from "./catalog.js";
import type { IssueEdit, IssueState } from "./dataset.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export const INVALID_PAYLOAD = "Invalid request payload. Refer to the REST API documentation and try again.";
const ADF_REQUIRED = "Operation value must be an Atlassian Document (see the Atlassian Document Format)";
const cannotSet = (id: string): string => `Field '${id}' cannot be set. It is not on the appropriate screen, or unknown.`;

/** Jira's error body: `errorMessages` for the request, `errors` by field id. */
export interface JiraErrors {
  errorMessages: string[];
  errors: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Workflow

export interface TransitionDef {
  id: string;
  name: string;
  from: readonly number[];
  to: number;
  /** The resolution the transition sets (done category); -1 clears it. */
  resolution: number;
}

/**
 * A small software workflow: To Do → In Progress → In Review → Done, "Won't do" from any open
 * status (resolution Won't Do), and the way back (stop progress, back to in progress, reopen).
 * Not every pair is connected, as in a real company-managed workflow: To Do → Done is not.
 */
export const WORKFLOW: readonly TransitionDef[] = [
  { id: "11", name: "Start progress", from: [ST_TODO], to: ST_PROGRESS, resolution: -1 },
  { id: "21", name: "Request review", from: [ST_PROGRESS], to: ST_REVIEW, resolution: -1 },
  { id: "31", name: "Done", from: [ST_PROGRESS, ST_REVIEW], to: ST_DONE, resolution: R_DONE },
  { id: "41", name: "Won't do", from: [ST_TODO, ST_PROGRESS, ST_REVIEW], to: ST_WONTDO, resolution: R_WONTDO },
  { id: "51", name: "Stop progress", from: [ST_PROGRESS], to: ST_TODO, resolution: -1 },
  { id: "61", name: "Back to in progress", from: [ST_REVIEW], to: ST_PROGRESS, resolution: -1 },
  { id: "71", name: "Reopen", from: [ST_DONE, ST_WONTDO], to: ST_PROGRESS, resolution: -1 },
  { id: "81", name: "Back to backlog", from: [ST_DONE, ST_WONTDO], to: ST_TODO, resolution: -1 },
];

export function transitionsFrom(status: number): TransitionDef[] {
  return WORKFLOW.filter((t) => t.from.includes(status));
}

/** `GET /issue/{key}/transitions`; `expand=transitions.fields` adds each transition's screen fields. */
export function transitionsJson(status: number, cat: SiteCatalog, params: URLSearchParams): unknown {
  const only = params.get("transitionId");
  const withFields = params.getAll("expand").join(",").split(",").map((s) => s.trim()).includes("transitions.fields");
  const transitions = transitionsFrom(status)
    .filter((t) => !only || t.id === only)
    .map((t) => {
      const out: Obj = {
        id: t.id,
        name: t.name,
        to: cat.statuses[t.to],
        hasScreen: t.resolution >= 0,
        isGlobal: false,
        isInitial: false,
        isAvailable: true,
        isConditional: false,
        isLooped: false,
      };
      if (withFields) out["fields"] = t.resolution >= 0 ? { resolution: resolutionMeta(cat) } : {};
      return out;
    });
  return { expand: "transitions", transitions };
}

function resolutionMeta(cat: SiteCatalog): Obj {
  return { required: false, schema: { type: "resolution", system: "resolution" }, name: "Resolution", key: "resolution", operations: ["set"], allowedValues: cat.resolutions };
}

/** A `POST /issue/{key}/transitions` body → the status change (and any field edits), or Jira's errors. */
export function parseTransition(body: unknown, state: IssueState, ctx: EditContext): { edit: IssueEdit } | { error: JiraErrors } {
  if (!isObj(body)) return { error: { errorMessages: [INVALID_PAYLOAD], errors: {} } };
  const tr = body["transition"];
  const id = isObj(tr) ? tr["id"] : undefined;
  if (typeof id !== "string" && typeof id !== "number") return { error: { errorMessages: ["Missing 'transition' identifier"], errors: {} } };
  const t = transitionsFrom(state.status).find((x) => x.id === String(id));
  if (!t) return { error: { errorMessages: [`Transition id '${String(id)}' is not valid for this issue.`], errors: {} } };
  let resolution = t.resolution;
  const fields = isObj(body["fields"]) ? { ...body["fields"] } : {};
  if ("resolution" in fields) {
    const r = fields["resolution"];
    delete fields["resolution"];
    if (t.resolution < 0) return { error: { errorMessages: [], errors: { resolution: cannotSet("resolution") } } };
    const k = isObj(r) ? RESOLUTIONS.findIndex((x) => x.id === r["id"] || (typeof r["name"] === "string" && x.name.toLowerCase() === r["name"].toLowerCase())) : -1;
    if (k < 0) return { error: { errorMessages: [], errors: { resolution: "The resolution selected is invalid." } } };
    resolution = k;
  }
  const rest = parseEdit({ fields, update: body["update"] ?? {} }, state, ctx);
  if ("error" in rest) return rest;
  return { edit: { ...rest.edit, status: { status: t.to, resolution } } };
}

// ---------------------------------------------------------------------------------------------
// Edits

export interface EditContext {
  /** Company-managed projects have the "Story Points" field on their screens as well. */
  companyManaged: boolean;
  /** The issue's description now (ADF JSON text or "null"), to leave an unchanged one alone. */
  description: () => string;
  dueDate: () => string | null;
  priority: () => number;
}

/** Fields the sandbox's edit screen has, in editmeta order. */
export function editableFieldIds(companyManaged: boolean): string[] {
  return ["summary", "description", "priority", "assignee", "labels", "duedate", "customfield_10016", ...(companyManaged ? ["customfield_10026"] : [])];
}

/** An assignable account: an active person (not an app, not a deactivated user). */
export function assignable(index: number): boolean {
  const u = USERS[index];
  return u !== undefined && u.active && u.accountType === "atlassian";
}

/**
 * Reads a PUT body into an edit, keeping only real changes (Jira neither records nor moves
 * `updated` for a value set to what it already is). All or nothing: any error → 400.
 * `status` in `fields` is ignored, as Jira ignores transitions here.
 */
export function parseEdit(body: unknown, state: IssueState, ctx: EditContext): { edit: IssueEdit } | { error: JiraErrors } {
  if (!isObj(body)) return { error: { errorMessages: [INVALID_PAYLOAD], errors: {} } };
  const fields = body["fields"] ?? {};
  const update = body["update"] ?? {};
  if (!isObj(fields) || !isObj(update)) return { error: { errorMessages: [INVALID_PAYLOAD], errors: {} } };
  const errors: Record<string, string> = {};
  const edit: IssueEdit = {};
  const editable = new Set(editableFieldIds(ctx.companyManaged));

  // `update` operations become the values they produce; labels take add/remove/set in order.
  const values = new Map<string, unknown>();
  for (const [id, ops] of Object.entries(update)) {
    if (id === "status") continue;
    if (!editable.has(id)) {
      errors[id] = cannotSet(id);
      continue;
    }
    if (id in fields) {
      errors[id] = `Field '${id}' cannot be set in both 'fields' and 'update'.`;
      continue;
    }
    if (!Array.isArray(ops)) {
      errors[id] = INVALID_PAYLOAD;
      continue;
    }
    if (id === "labels") {
      const labels = [...state.labels];
      for (const op of ops) {
        if (!isObj(op)) errors[id] = INVALID_PAYLOAD;
        else if (typeof op["add"] === "string") {
          if (!labels.includes(op["add"])) labels.push(op["add"]);
        } else if (typeof op["remove"] === "string") {
          const k = labels.indexOf(op["remove"]);
          if (k >= 0) labels.splice(k, 1);
        } else if (Array.isArray(op["set"])) labels.splice(0, labels.length, ...(op["set"] as string[]));
        else errors[id] = `Operation '${Object.keys(op)[0] ?? ""}' is not supported for field 'labels'.`;
      }
      values.set(id, labels);
      continue;
    }
    for (const op of ops) {
      if (isObj(op) && "set" in op) values.set(id, op["set"]);
      else errors[id] = `Operation '${isObj(op) ? (Object.keys(op)[0] ?? "") : ""}' is not supported for field '${id}'.`;
    }
  }
  for (const [id, v] of Object.entries(fields)) {
    if (id === "status") continue; // transitions only
    if (!editable.has(id)) errors[id] = cannotSet(id);
    else values.set(id, v);
  }

  for (const [id, v] of values) {
    switch (id) {
      case "summary": {
        if (typeof v !== "string" || v.trim() === "") errors[id] = "You must specify a summary of the issue.";
        else if (v.length > 255) errors[id] = "Summary must be less than 255 characters.";
        else if (v !== state.summary) edit.summary = v;
        break;
      }
      case "description": {
        if (v !== null && !isAdfDoc(v)) {
          errors[id] = ADF_REQUIRED;
          break;
        }
        const json = JSON.stringify(v);
        if (json !== ctx.description()) edit.description = json;
        break;
      }
      case "priority": {
        if (!isObj(v) || (typeof v["id"] !== "string" && typeof v["name"] !== "string")) {
          errors[id] = v === null ? "Priority is required." : "Specify the Priority (id or name) in the string format";
          break;
        }
        const k = PRIORITIES.findIndex((p) => p.id === v["id"] || p.name === v["name"]);
        if (k < 0) errors[id] = "The priority selected is invalid.";
        else if (k !== ctx.priority()) edit.priority = k;
        break;
      }
      case "assignee": {
        let k = -1;
        if (v !== null) {
          const accountId = isObj(v) ? v["accountId"] : undefined;
          if (typeof accountId !== "string") {
            errors[id] = "Specify a valid value for assignee";
            break;
          }
          // "-1": the project's default assignee, which is "Unassigned" here.
          if (accountId !== "-1") {
            k = USERS.findIndex((u, n) => accountIdOf(u, n) === accountId);
            if (k < 0 || !assignable(k)) {
              errors[id] = `User '${accountId}' cannot be assigned issues.`;
              break;
            }
          }
        }
        if (k !== state.assignee) edit.assignee = k;
        break;
      }
      case "labels": {
        if (v === null) {
          if (state.labels.length) edit.labels = [];
          break;
        }
        if (!Array.isArray(v) || v.some((l) => typeof l !== "string")) {
          errors[id] = "data was not an array of strings";
          break;
        }
        const bad = (v as string[]).find((l) => /\s/.test(l) || l === "" || l.length > 255);
        if (bad !== undefined) {
          errors[id] = bad === "" ? "Labels cannot be empty." : bad.length > 255 ? "The label is too long; it can have at most 255 characters." : `The label '${bad}' contains spaces which is invalid.`;
          break;
        }
        const labels = [...new Set(v as string[])];
        if (JSON.stringify(labels) !== JSON.stringify(state.labels)) edit.labels = labels;
        break;
      }
      case "duedate": {
        if (v !== null && (typeof v !== "string" || !validDate(v))) {
          errors[id] = `Error parsing date string: ${typeof v === "string" ? v : JSON.stringify(v)}`;
          break;
        }
        if (v !== ctx.dueDate()) edit.duedate = v as string | null;
        break;
      }
      case "customfield_10016":
      case "customfield_10026": {
        if (v !== null && (typeof v !== "number" || !Number.isFinite(v))) {
          errors[id] = "Operation value must be a number";
          break;
        }
        if (v !== state.points) edit.points = v as number | null;
        break;
      }
    }
  }
  if (Object.keys(errors).length) return { error: { errorMessages: [], errors } };
  return { edit };
}

function validDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === s;
}

/** An ADF document: `{type: "doc", version: 1, content: [...]}`, every node typed, no empty text. */
export function isAdfDoc(v: unknown): boolean {
  if (!isObj(v) || v["type"] !== "doc" || v["version"] !== 1 || !Array.isArray(v["content"])) return false;
  const node = (n: unknown): boolean => {
    if (!isObj(n) || typeof n["type"] !== "string" || n["type"] === "doc") return false;
    if (n["type"] === "text" && (typeof n["text"] !== "string" || n["text"] === "")) return false;
    const c = n["content"];
    return c === undefined || (Array.isArray(c) && c.every(node));
  };
  return (v["content"] as unknown[]).every(node);
}

/** `GET /issue/{key}/editmeta`: what the edit screen offers. */
export function editMetaJson(key: string, companyManaged: boolean, cat: SiteCatalog): unknown {
  const fields: Obj = {};
  for (const id of editableFieldIds(companyManaged)) {
    const def = FIELD_BY_ID.get(id);
    const meta: Obj = { required: id === "summary" || id === "priority", schema: def?.schema, name: def?.name ?? id, key: id, operations: id === "labels" ? ["add", "set", "remove"] : ["set"] };
    if (id === "priority") meta["allowedValues"] = cat.priorities;
    if (id === "assignee") meta["autoCompleteUrl"] = `${cat.base}/rest/api/3/user/assignable/search?issueKey=${key}&query=`;
    if (id === "labels") meta["autoCompleteUrl"] = `${cat.base}/rest/api/1.0/labels/suggest?query=`;
    fields[id] = meta;
  }
  return { fields };
}

// ---------------------------------------------------------------------------------------------
// Users

/** A user as the user searches return it (with the email address, which this site shows). */
export function userSearchJson(index: number, cat: SiteCatalog, accountEmail: string): unknown {
  return { ...(cat.users[index] as Obj), emailAddress: emailOf(index, accountEmail), locale: "en_US" };
}

/**
 * Indices of users matching a `query` the way Jira's user search does: a case-insensitive
 * prefix of the display name, of one of its words, or of the email address. `accountId`
 * narrows to that account exactly.
 */
export function matchUsers(query: string, accountId: string | null, accountEmail: string, onlyAssignable: boolean): number[] {
  const q = query.trim().toLowerCase();
  const out: number[] = [];
  USERS.forEach((u, k) => {
    if (onlyAssignable && !assignable(k)) return;
    if (accountId !== null && accountIdOf(u, k) !== accountId) return;
    const name = u.name.toLowerCase();
    const hit = q === "" || name.startsWith(q) || name.split(/\s+/).some((w) => w.startsWith(q)) || emailOf(k, accountEmail).toLowerCase().startsWith(q);
    if (hit) out.push(k);
  });
  return out;
}
