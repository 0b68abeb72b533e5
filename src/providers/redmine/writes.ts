// Redmine writes (SPEC §5.4): one `PUT /issues/<id>.json` per push with every changed field, names
// resolved to ids first (status, priority, assignee). Redmine answers 204 even when it drops a
// change it does not allow (a status the workflow forbids, a field the role may not edit, an
// unknown status id), so every write is checked by reading the issue back.

import { RemoteError, UsageError } from "../../errors.js";
import type { EditableField, FieldWrite, FieldValue, PulledRecord } from "../provider.js";
import type { RedmineClient, RedmineIssue, RedminePriority, RedmineStatus } from "./client.js";
import { isStoryPointsName } from "./fields.js";
import { issueIdOf, normaliseIssue, type NormaliseContext } from "./normalise.js";

export const REDMINE_EDITABLE: ReadonlySet<EditableField> = new Set<EditableField>([
  "title", "description", "status", "priority", "assignee", "due_date", "story_points",
]);

/** A field sent in the PUT and how to tell, from the issue read back, that Redmine applied it. */
interface Expectation {
  field: EditableField;
  applied(issue: RedmineIssue): boolean;
  wanted: string;
}

const lower = (s: string) => s.trim().toLowerCase();
const crlf = (s: string | null | undefined) => (s ?? "").replace(/\r\n?/g, "\n");

function textValue(w: FieldWrite): string | null {
  if (w.value === null || typeof w.value === "string") return w.value;
  throw new UsageError(`${w.field} takes text, not ${JSON.stringify(w.value)}`);
}

function choose<T extends { id: number; name: string }>(items: T[], value: string, what: string): T {
  const hit = items.find((i) => i.name === value) ?? items.find((i) => lower(i.name) === lower(value));
  if (!hit) throw new UsageError(`Redmine has no ${what} "${value}"`, { hint: `choices: ${items.map((i) => i.name).join(", ")}` });
  return hit;
}

/** Redmine's 422 body is `{"errors":["Subject cannot be blank", …]}`; the HTTP client's text of it. */
function refusal(message: string): string {
  const m = /^HTTP 422 from \S+ \S+?: (.*)$/s.exec(message);
  return (m ? m[1]! : message).replace(/(^|; )\d+: /g, "$1");
}

export class RedmineWrites {
  private statuses: Promise<RedmineStatus[]> | undefined;
  private priorities: Promise<RedminePriority[]> | undefined;
  private readonly members = new Map<number, Promise<Map<number, string>>>();

  constructor(
    private readonly client: RedmineClient,
    private readonly context: (issues: RedmineIssue[]) => Promise<NormaliseContext>,
  ) {}

  async fetchIssue(key: string): Promise<PulledRecord | null> {
    // Plain GET, no `include`: the payload then equals the list's, so its hash matches the cache.
    const issue = await this.client.issue(issueIdOf(key));
    return issue ? normaliseIssue(issue, await this.context([issue])) : null;
  }

  async writeIssue(current: PulledRecord, writes: FieldWrite[]): Promise<void> {
    const id = issueIdOf(current.issue.key);
    const raw = (current.raw ?? {}) as RedmineIssue;
    const body: Record<string, unknown> = {};
    const expected: Expectation[] = [];
    for (const w of writes) await this.add(w, raw, body, expected);
    if (expected.length === 0) return;

    try {
      if (!(await this.client.updateIssue(id, body))) throw new RemoteError(`issue #${id} no longer exists in Redmine`, { status: 404 });
    } catch (err) {
      if (err instanceof RemoteError && err.status === 422) throw new RemoteError(`Redmine refused the change to #${id}: ${refusal(err.message)}`, { status: 422 });
      throw err;
    }

    const after = await this.client.issue(id, "allowed_statuses");
    if (!after) throw new RemoteError(`issue #${id} disappeared from Redmine right after the write`, { status: 404 });
    const missed = expected.filter((e) => !e.applied(after));
    if (missed.length === 0) return;
    const parts: string[] = [];
    const status = missed.find((e) => e.field === "status");
    if (status) {
      const allowed = after.allowed_statuses?.map((s) => s.name);
      parts.push(
        `Redmine did not apply the status change to ${status.wanted} (workflow permissions?)` +
          (allowed?.length ? `; from "${after.status?.name ?? "?"}" this account may choose: ${allowed.join(", ")}` : ""),
      );
    }
    const others = missed.filter((e) => e.field !== "status");
    if (others.length) {
      parts.push(`Redmine did not apply ${others.map((e) => `${e.field} = ${e.wanted}`).join(", ")} (the account may not be allowed to change ${others.length > 1 ? "them" : "it"})`);
    }
    throw new RemoteError(`#${id}: ${parts.join("; ")}`);
  }

  private async add(w: FieldWrite, raw: RedmineIssue, body: Record<string, unknown>, expected: Expectation[]): Promise<void> {
    const expect = (applied: Expectation["applied"], wanted: FieldValue) => expected.push({ field: w.field, applied, wanted: JSON.stringify(wanted) });
    switch (w.field) {
      case "title": {
        const v = textValue(w);
        if (v === null || v.trim() === "") throw new UsageError("a Redmine issue needs a subject: the title cannot be empty");
        body.subject = v;
        expect((i) => (i.subject ?? "").trim() === v.trim(), v);
        return;
      }
      case "description": {
        const v = textValue(w);
        body.description = v;
        // Redmine stores line breaks as CRLF.
        expect((i) => crlf(i.description) === crlf(v), v);
        return;
      }
      case "status": {
        const v = textValue(w);
        if (v === null) throw new UsageError("a Redmine issue always has a status");
        const s = choose(await (this.statuses ??= this.client.statuses()), v, "status");
        body.status_id = s.id;
        expect((i) => i.status?.id === s.id, s.name);
        return;
      }
      case "priority": {
        const v = textValue(w);
        if (v === null) throw new UsageError("a Redmine issue always has a priority");
        const all = await (this.priorities ??= this.client.priorities());
        const p = choose(all.filter((x) => x.active !== false), v, "active priority");
        body.priority_id = p.id;
        expect((i) => i.priority?.id === p.id, p.name);
        return;
      }
      case "assignee": {
        const v = textValue(w);
        // JSON null is ignored by Redmine; an empty string clears the assignee.
        const userId = v === null || v.trim() === "" ? null : await this.assigneeId(v, raw);
        body.assigned_to_id = userId ?? "";
        expect((i) => (i.assigned_to?.id ?? null) === userId, v);
        return;
      }
      case "due_date": {
        const v = textValue(w);
        if (v !== null && !/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new UsageError(`due date "${v}" is not a YYYY-MM-DD date`);
        body.due_date = v;
        expect((i) => (i.due_date ?? null) === v, v);
        return;
      }
      case "story_points": {
        if (w.value !== null && typeof w.value !== "number") throw new UsageError(`story points take a number, not ${JSON.stringify(w.value)}`);
        const field = raw.custom_fields?.find((cv) => isStoryPointsName(cv.name));
        if (!field) throw new UsageError(`this Redmine issue has no "Story Points" custom field`, { hint: "an administrator can add a numeric custom field named Story Points" });
        const text = w.value === null ? "" : String(w.value);
        body.custom_fields = [{ id: field.id, value: text }];
        expect((i) => {
          const now = i.custom_fields?.find((cv) => cv.id === field.id)?.value;
          return (typeof now === "string" ? now : "") === text || (text !== "" && Number(now) === w.value);
        }, w.value);
        return;
      }
      case "labels":
        throw new UsageError("Redmine issues have no labels", { hint: "Redmine's editable fields: title, description, status, priority, assignee, due_date, story_points" });
      default:
        throw new UsageError(`pmsync cannot write ${String(w.field)} to Redmine`);
    }
  }

  /**
   * Redmine accepts as assignee a member of the issue's project (user, or group when the instance
   * allows group assignment), the issue's author, and its current assignee. Matched by display
   * name; a numeric account id is passed through; a login or e-mail is looked up in /users.json
   * (admin accounts only).
   */
  private async assigneeId(value: string, raw: RedmineIssue): Promise<number> {
    const want = value.trim();
    if (/^\d+$/.test(want)) return Number(want);
    const candidates = new Map(raw.project?.id !== undefined ? await this.membersOf(raw.project.id) : []);
    if (raw.author) candidates.set(raw.author.id, raw.author.name);
    if (raw.assigned_to) candidates.set(raw.assigned_to.id, raw.assigned_to.name);
    const byName = [...candidates].filter(([, name]) => lower(name) === lower(want));
    if (byName.length === 1) return byName[0]![0];
    if (byName.length > 1) {
      throw new UsageError(`"${value}" names ${byName.length} members of the project`, { hint: `give the account id instead: ${byName.map(([id]) => id).join(", ")}` });
    }
    const users = (await this.client.findUsers(want)) ?? [];
    const exact = users.filter((u) => lower(u.login) === lower(want) || (u.mail && lower(u.mail) === lower(want)));
    if (exact.length === 1) return exact[0]!.id;
    const names = [...new Set(candidates.values())].sort();
    throw new UsageError(`no one called "${value}" can be assigned issues in this Redmine project`, {
      hint: names.length ? `choices: ${names.join(", ")}` : "the project has no members who can be assigned issues",
    });
  }

  private membersOf(projectId: number): Promise<Map<number, string>> {
    let p = this.members.get(projectId);
    if (!p) {
      p = this.client.memberships(projectId).then(
        (list) => {
          const out = new Map<number, string>();
          for (const m of list) {
            const who = m.user ?? m.group;
            if (who && typeof who.id === "number") out.set(who.id, who.name);
          }
          return out;
        },
        (err: unknown) => {
          // A role without "View members": only the author, the assignee and /users.json are left.
          if (err instanceof RemoteError && err.status === 403) return new Map<number, string>();
          throw err;
        },
      );
      p.catch(() => this.members.delete(projectId));
      this.members.set(projectId, p);
    }
    return p;
  }
}
