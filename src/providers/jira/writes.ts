// Jira writes (SPEC §5.4, PROVIDERS.md §1.5): one `PUT /rest/api/3/issue/{key}` for the plain
// fields, then the status through a workflow transition (Jira ignores `status` in an edit).
// Every name is resolved before anything is sent, so a bad name changes nothing.

import { RemoteError, UsageError } from "../../errors.js";
import type { EditableField, FieldDef, FieldWrite, PulledRecord } from "../provider.js";
import { textToAdf } from "./adf.js";
import type { JiraClient, JiraPriority, JiraTransition } from "./client.js";
import { knownFields, requestedFields } from "./fields.js";
import { normaliseIssue } from "./normalise.js";

export const EDITABLE_FIELDS: ReadonlySet<EditableField> = new Set<EditableField>([
  "title", "description", "status", "priority", "assignee", "labels", "due_date", "story_points",
]);

/** Jira field ids by the unified name users know them by, for error messages. */
const UNIFIED_NAME: Record<string, string> = { summary: "title", duedate: "due_date" };

/** Jira account ids: 24 hex digits, or the older `557058:<uuid>`. Display names never look like this. */
const ACCOUNT_ID = /^(?:[0-9a-f]{24}|\d+:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

const same = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase();
const quoted = (names: string[]): string => (names.length ? names.map((n) => `"${n}"`).join(", ") : "none");

export class JiraWrites {
  private priorityList: Promise<JiraPriority[]> | undefined;

  constructor(
    private readonly client: JiraClient,
    /** The site's field catalog (GET /field), fetched once by the provider. */
    private readonly catalog: () => Promise<FieldDef[]>,
    private readonly site: string,
  ) {}

  /** The issue as a search returns it (same fields, same normalising); null when Jira answers 404. */
  async fetchIssue(key: string): Promise<PulledRecord | null> {
    const catalog = await this.catalog();
    const raw = await this.client.issue(key, requestedFields(catalog));
    return raw === null ? null : normaliseIssue(raw, this.site, knownFields(catalog));
  }

  async writeIssue(current: PulledRecord, writes: FieldWrite[]): Promise<void> {
    const key = current.issue.key;
    const fields: Record<string, unknown> = {};
    let storyPointsId: string | undefined;
    let transition: JiraTransition | undefined;
    for (const w of writes) {
      switch (w.field) {
        case "title":
          fields["summary"] = text(w, false);
          break;
        case "description": {
          const v = text(w, true);
          fields["description"] = v === null ? null : textToAdf(v);
          break;
        }
        case "priority": {
          const v = text(w, true);
          fields["priority"] = v === null ? null : { id: await this.priorityId(v) };
          break;
        }
        case "assignee": {
          const v = text(w, true);
          fields["assignee"] = v === null ? null : { accountId: await this.accountId(key, v) };
          break;
        }
        case "labels":
          fields["labels"] = labels(w);
          break;
        case "due_date":
          fields["duedate"] = dueDate(w);
          break;
        case "story_points":
          storyPointsId = await this.storyPointsField(current);
          fields[storyPointsId] = points(w);
          break;
        case "status":
          transition = await this.transitionTo(current, text(w, false) as string);
          break;
        default:
          throw new UsageError(`Jira cannot write the field "${String((w as FieldWrite).field)}"`, { hint: `writable: ${[...EDITABLE_FIELDS].join(", ")}` });
      }
    }
    if (Object.keys(fields).length > 0) {
      await refusals(key, "edit", storyPointsId, () => this.client.editIssue(key, fields));
    }
    if (transition) {
      const t = transition;
      await refusals(key, `transition "${t.name}"`, undefined, () => this.client.doTransition(key, t.id));
    }
  }

  private async priorityId(name: string): Promise<string> {
    this.priorityList ??= this.client.priorities();
    let list: JiraPriority[];
    try {
      list = await this.priorityList;
    } catch (err) {
      this.priorityList = undefined; // not cached: the next write asks again
      throw err;
    }
    const hit = list.find((p) => same(p.name, name));
    if (!hit) throw new UsageError(`Jira has no priority "${name}"`, { hint: `priorities: ${quoted(list.map((p) => p.name))}` });
    return hit.id;
  }

  /** A display name, email address or account id → the account id of someone assignable to `key`. */
  private async accountId(key: string, who: string): Promise<string> {
    const byId = ACCOUNT_ID.test(who.trim());
    const users = await this.client.assignableUsers(key, byId ? { accountId: who.trim() } : { query: who });
    const exact = users.filter((u) => u.accountId === who.trim() || same(u.displayName ?? "", who) || (u.emailAddress !== undefined && same(u.emailAddress, who)));
    if (exact.length === 1) return exact[0]!.accountId;
    if (exact.length > 1) {
      throw new UsageError(`"${who}" matches ${exact.length} people who can be assigned ${key}: ${exact.map((u) => `${u.displayName} <${u.emailAddress ?? u.accountId}>`).join(", ")}`, {
        hint: "give the email address or the account id instead",
      });
    }
    const near = users.map((u) => u.displayName);
    throw new UsageError(`no one who can be assigned ${key} matches "${who}"`, {
      hint: near.length ? `did you mean ${quoted(near)}?` : "give a display name, an email address or an account id of someone with access to the project",
    });
  }

  /**
   * The story points field: ids differ per site and per project type (PROVIDERS.md §1.4). The
   * one that holds the issue's value; else the only candidate; else the one on its edit screen.
   */
  private async storyPointsField(current: PulledRecord): Promise<string> {
    const candidates = knownFields(await this.catalog()).storyPoints;
    if (candidates.length === 0) throw new UsageError("this Jira site has no story points field", { hint: "story points need Jira Software's estimation field" });
    const rawFields = (current.raw as { fields?: Record<string, unknown> } | null)?.fields ?? {};
    const holding = candidates.find((id) => typeof rawFields[id] === "number");
    if (holding) return holding;
    if (candidates.length === 1) return candidates[0]!;
    const meta = (await this.client.editMeta(current.issue.key)).fields ?? {};
    const onScreen = candidates.find((id) => id in meta);
    if (!onScreen) throw new UsageError(`story points cannot be set on ${current.issue.key}: none of ${candidates.join(", ")} is on its edit screen`);
    return onScreen;
  }

  /** The transition whose target status has this name (any case), from the issue's current status. */
  private async transitionTo(current: PulledRecord, target: string): Promise<JiraTransition | undefined> {
    if (current.issue.status !== null && same(current.issue.status, target)) return undefined;
    const available = await this.client.transitions(current.issue.key);
    const hit = available.find((t) => same(t.to?.name ?? "", target));
    if (hit) return hit;
    throw new UsageError(`no transition from "${current.issue.status ?? "?"}" leads to "${target}" on ${current.issue.key}`, {
      hint: `available: ${available.length ? available.map((t) => `"${t.to?.name}" (${t.name})`).join(", ") : "none"}`,
    });
  }
}

function text(w: FieldWrite, nullable: boolean): string | null {
  if (w.value === null && nullable) return null;
  if (typeof w.value !== "string") throw new UsageError(`${w.field} must be ${nullable ? "text or null" : "text"}, not ${JSON.stringify(w.value)}`);
  if (!nullable && w.value.trim() === "") throw new UsageError(`${w.field} cannot be empty in Jira`);
  return w.value;
}

function labels(w: FieldWrite): string[] {
  const v = w.value === null ? [] : w.value;
  if (!Array.isArray(v) || v.some((l) => typeof l !== "string")) throw new UsageError(`labels must be a list of text, not ${JSON.stringify(w.value)}`);
  const spaced = v.find((l) => /\s/.test(l));
  if (spaced !== undefined) throw new UsageError(`Jira labels cannot contain spaces: "${spaced}"`);
  return v;
}

function dueDate(w: FieldWrite): string | null {
  if (w.value === null) return null;
  if (typeof w.value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(w.value)) throw new UsageError(`due_date must be YYYY-MM-DD or null, not ${JSON.stringify(w.value)}`);
  return w.value;
}

function points(w: FieldWrite): number | null {
  if (w.value === null) return null;
  const n = typeof w.value === "string" && w.value.trim() !== "" ? Number(w.value) : w.value;
  if (typeof n !== "number" || !Number.isFinite(n)) throw new UsageError(`story_points must be a number or null, not ${JSON.stringify(w.value)}`);
  return n;
}

/**
 * Runs a write; Jira's 400 (`errors` by field id) becomes a RemoteError naming the unified field
 * and Jira's message, e.g. `due_date (duedate): Error parsing date string: 2027-02-30`.
 */
async function refusals(key: string, what: string, storyPointsId: string | undefined, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    if (!(err instanceof RemoteError) || err.status !== 400) throw err;
    // The HTTP client's message is `HTTP 400 from METHOD URL: <errorMessages; field: message; …>`.
    const detail = err.message.replace(/^HTTP 400 from \S+ \S+: ?/, "");
    const named = detail.replace(/(^|; )([A-Za-z_0-9]+): /g, (_m, sep: string, id: string) => {
      const unified = id === storyPointsId ? "story_points" : (UNIFIED_NAME[id] ?? id);
      return `${sep}${unified === id ? id : `${unified} (${id})`}: `;
    });
    throw new RemoteError(`Jira refused the ${what} of ${key}: ${named || "HTTP 400"}`, { status: 400, cause: err });
  }
}
