// Linear writes: one `issueUpdate` per push of an issue. Names are resolved to ids first (status
// among the issue's team's workflow states, assignee among the workspace's users, labels among
// the team's and the workspace's labels), so a bad name fails before anything is written.

import { RemoteError, UsageError } from "../../errors.js";
import type { FieldValue, FieldWrite, PulledRecord } from "../provider.js";
import { ISSUE_QUERY, type Connection, type LinearClient, type LinearIssue, type LinearState, type LinearUser } from "./client.js";
import { isGone, normaliseIssue, PRIORITY_NAMES } from "./normalise.js";

const STATES_QUERY = `query PmsyncTeamStates($id: String!) { team(id: $id) { key states(first: 250) { nodes { id name type } } } }`;
const USERS_QUERY = `query PmsyncUsers($after: String) {
  users(first: 250, after: $after) { nodes { id name displayName email } pageInfo { hasNextPage endCursor } }
}`;
const LABELS_QUERY = `query PmsyncLabels($after: String) {
  issueLabels(first: 250, after: $after) { nodes { id name team { id } } pageInfo { hasNextPage endCursor } }
}`;
const LABEL_CREATE = `mutation PmsyncLabelCreate($input: IssueLabelCreateInput!) {
  issueLabelCreate(input: $input) { success issueLabel { id name } }
}`;
const ISSUE_UPDATE = `mutation PmsyncIssueUpdate($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success issue { id updatedAt } }
}`;

interface TeamLabel {
  id: string;
  name: string;
  team: { id: string } | null;
}

/** Up to 15 names for an error message. */
function listChoices(names: string[]): string {
  const unique = [...new Set(names)];
  const shown = unique.slice(0, 15).join(", ");
  return unique.length > 15 ? `${shown} … (${unique.length - 15} more)` : shown;
}

function text(value: FieldValue, field: string): string {
  if (typeof value !== "string") throw new UsageError(`${field} must be text, not ${JSON.stringify(value)}`);
  return value;
}

/** Exact match first, then case-insensitive; several case-insensitive matches are ambiguous. */
function pick<T>(items: T[], wanted: string, keys: (t: T) => (string | null)[]): T[] {
  const exact = items.filter((t) => keys(t).includes(wanted));
  if (exact.length) return exact;
  const lower = wanted.toLowerCase();
  return items.filter((t) => keys(t).some((k) => k?.toLowerCase() === lower));
}

export function priorityNumber(value: FieldValue): number {
  if (value === null) return 0;
  if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 4) return value;
  if (typeof value === "string") {
    const v = value.trim().toLowerCase();
    if (v === "no priority" || v === "none" || v === "") return 0;
    for (const [n, name] of Object.entries(PRIORITY_NAMES)) if (name.toLowerCase() === v) return Number(n);
    if (/^[0-4]$/.test(v)) return Number(v);
  }
  throw new UsageError(`Linear has no priority ${JSON.stringify(value)}`, { hint: `choose one of: ${Object.values(PRIORITY_NAMES).join(", ")}, No priority` });
}

function dueDate(value: FieldValue): string | null {
  if (value === null) return null;
  const v = text(value, "due_date").trim();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))) throw new UsageError(`due_date must be YYYY-MM-DD, not "${v}"`);
  return v;
}

/** Linear estimates are whole numbers on the team's scale (`IssueUpdateInput.estimate: Int`). */
function estimate(value: FieldValue): number | null {
  if (value === null) return null;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0) throw new UsageError(`Linear estimates are whole numbers; ${JSON.stringify(value)} is not one`);
  return n;
}

export class LinearWrites {
  private users: LinearUser[] | null = null;
  private labels: TeamLabel[] | null = null;

  constructor(private readonly client: LinearClient) {}

  /** `issue(id:)` takes an identifier (`ENG-123`) as well as an id. */
  async fetchIssue(key: string): Promise<PulledRecord | null> {
    const { body } = await this.client.envelope<{ issue: LinearIssue | null }>("issue", ISSUE_QUERY, { id: key });
    if (body.errors?.length) {
      if (body.errors.every((e) => /entity not found/i.test(e.message ?? ""))) return null;
      throw await this.client.graphqlError(body.errors, "issue");
    }
    const issue = body.data?.issue;
    if (!issue || isGone(issue)) return null;
    return normaliseIssue(issue);
  }

  async writeIssue(current: PulledRecord, writes: FieldWrite[]): Promise<void> {
    if (!writes.length) return;
    const raw = current.raw as Partial<LinearIssue>;
    const team = raw.team ?? null;
    const input: Record<string, unknown> = {};
    let labelNames: string[] | null = null;
    for (const w of writes) {
      switch (w.field) {
        case "title": {
          const title = w.value === null ? "" : text(w.value, "title").trim();
          if (!title) throw new UsageError("a Linear issue needs a title");
          input.title = title;
          break;
        }
        case "description":
          input.description = w.value === null ? null : text(w.value, "description");
          break;
        case "status":
          if (w.value === null) throw new UsageError("a Linear issue always has a status; choose one instead of clearing it");
          input.stateId = (await this.state(team, text(w.value, "status"))).id;
          break;
        case "priority":
          input.priority = priorityNumber(w.value);
          break;
        case "assignee":
          input.assigneeId = w.value === null ? null : (await this.user(text(w.value, "assignee"))).id;
          break;
        case "labels":
          if (!Array.isArray(w.value)) throw new UsageError(`labels must be a list of names, not ${JSON.stringify(w.value)}`);
          labelNames = w.value;
          break;
        case "due_date":
          input.dueDate = dueDate(w.value);
          break;
        case "story_points":
          input.estimate = estimate(w.value);
          break;
        default:
          throw new UsageError(`Linear cannot write the field "${String((w as FieldWrite).field)}"`);
      }
    }
    // Labels last: a missing label is created, so everything else must have resolved first.
    if (labelNames) input.labelIds = await this.labelIds(team, labelNames);
    const data = await this.client.query<{ issueUpdate: { success: boolean } | null }>("issueUpdate", ISSUE_UPDATE, { id: current.issue.id, input });
    if (!data.issueUpdate?.success) throw new RemoteError(`Linear did not update ${current.issue.key} (issueUpdate answered success: false)`);
  }

  private async state(team: LinearIssue["team"], name: string): Promise<LinearState> {
    if (!team) throw new RemoteError("the cached issue has no team; run `pmsync sync` and push again");
    const data = await this.client.query<{ team: { key: string; states: Connection<LinearState> } }>("team", STATES_QUERY, { id: team.id });
    const states = data.team.states.nodes;
    const found = pick(states, name.trim(), (s) => [s.name]);
    if (found.length !== 1) {
      throw new UsageError(`Linear team ${team.key} has no workflow state "${name}"`, { hint: `choose one of: ${listChoices(states.map((s) => s.name))}` });
    }
    return found[0]!;
  }

  /** By the name the export shows, the short display name, the email, or the id. */
  private async user(value: string): Promise<LinearUser> {
    this.users ??= await this.all<LinearUser>("users", USERS_QUERY, "users");
    const found = pick(this.users, value.trim(), (u) => [u.name, u.displayName, u.email, u.id]);
    if (found.length === 1) return found[0]!;
    if (found.length > 1) {
      throw new UsageError(`"${value}" names ${found.length} Linear users`, { hint: `use the email: ${found.map((u) => u.email ?? u.id).join(", ")}` });
    }
    throw new UsageError(`no Linear user "${value}"`, { hint: `choose one of: ${listChoices(this.users.map((u) => u.name))} (or an email)` });
  }

  /**
   * The team's labels win over workspace labels of the same name. A name that exists nowhere is
   * created as a team label, as typing a new label in Linear does (labels are free text in the
   * other trackers pmsync writes to).
   */
  private async labelIds(team: LinearIssue["team"], names: string[]): Promise<string[]> {
    if (!names.length) return [];
    if (!team) throw new RemoteError("the cached issue has no team; run `pmsync sync` and push again");
    this.labels ??= await this.all<TeamLabel>("labels", LABELS_QUERY, "issueLabels");
    const usable = this.labels.filter((l) => l.team === null || l.team.id === team.id);
    const ids: string[] = [];
    for (const raw of names) {
      const name = text(raw, "a label").trim();
      if (!name) throw new UsageError("a label name cannot be empty");
      const found = pick(usable, name, (l) => [l.name]);
      const label = found.find((l) => l.team !== null) ?? found[0] ?? (await this.createLabel(team, name));
      if (!ids.includes(label.id)) ids.push(label.id);
    }
    return ids;
  }

  private async createLabel(team: NonNullable<LinearIssue["team"]>, name: string): Promise<TeamLabel> {
    const data = await this.client.query<{ issueLabelCreate: { success: boolean; issueLabel: { id: string; name: string } | null } | null }>(
      "issueLabelCreate",
      LABEL_CREATE,
      { input: { name, teamId: team.id } },
    );
    const created = data.issueLabelCreate?.issueLabel;
    if (!data.issueLabelCreate?.success || !created) throw new RemoteError(`Linear did not create the label "${name}" in team ${team.key}`);
    const label: TeamLabel = { id: created.id, name: created.name, team: { id: team.id } };
    this.labels?.push(label);
    return label;
  }

  /** Every node of a top-level connection, 250 at a time. */
  private async all<T>(endpoint: string, query: string, field: string): Promise<T[]> {
    const out: T[] = [];
    let after: string | undefined;
    for (;;) {
      const data = await this.client.query<Record<string, Connection<T>>>(endpoint, query, after ? { after } : {});
      const conn = data[field];
      if (!conn || !Array.isArray(conn.nodes)) throw new RemoteError(`Linear's ${field} answer has no list of nodes`);
      out.push(...conn.nodes);
      if (!conn.pageInfo?.hasNextPage || !conn.pageInfo.endCursor) return out;
      after = conn.pageInfo.endCursor;
    }
  }
}
