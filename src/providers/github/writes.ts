// Reading one issue back and writing unified fields to it (SPEC §5.4). GitHub takes every field in
// one `PATCH /repos/{o}/{r}/issues/{n}`, so a writeIssue is exactly one mutation; mutations are
// sent one at a time, at least a second apart (GitHub's secondary-limit advice).
//
// Field by field:
// - status: the names normalise.ts shows ("Open", "Closed", "Closed (not planned)",
//   "Closed (duplicate)"), or GitHub's own words (open, closed, completed, not_planned,
//   duplicate), any case → `state` + `state_reason`.
// - assignee: a login (with or without `@`). GitHub silently drops an assignee it cannot
//   assign, so pmsync asks `GET /repos/{o}/{r}/assignees/{login}` first. The issue then has
//   exactly that assignee (`assignees` replaces the list); null clears it.
// - labels: the new list (replaces; GitHub creates unknown labels). `priority: …` labels are
//   kept, since they are the priority column, not labels.
// - priority: one of the repository's `priority: <name>` labels; replaces the current one.
// - due_date, story_points: GitHub issues have neither → UsageError.

import { RemoteError, UsageError } from "../../errors.js";
import type { EditableField, FieldValue, FieldWrite, PulledRecord } from "../provider.js";
import { parseIssueKey, type IssueRef } from "./auth.js";
import type { GitHubClient } from "./client.js";
import { CLOSED_STATUS, STATUS_OPEN, isPullRequest, labelNames, normaliseIssue, priorityOfLabel } from "./normalise.js";

export const GITHUB_EDITABLE: ReadonlySet<EditableField> = new Set(["title", "description", "status", "priority", "assignee", "labels"]);

/** GitHub's advice for mutations: one at a time, at least one second apart. */
export const MUTATION_GAP_MS = 1000;

type StatePatch = { state: "open" } | { state: "closed"; state_reason: "completed" | "not_planned" | "duplicate" };

const squash = (s: string) => s.trim().toLowerCase().replace(/[\s_()]+/g, " ").trim();

const STATUS_WRITES = new Map<string, StatePatch>([
  [squash(STATUS_OPEN), { state: "open" }],
  [squash(CLOSED_STATUS.completed), { state: "closed", state_reason: "completed" }],
  ["completed", { state: "closed", state_reason: "completed" }],
  [squash(CLOSED_STATUS.not_planned), { state: "closed", state_reason: "not_planned" }],
  ["not planned", { state: "closed", state_reason: "not_planned" }],
  [squash(CLOSED_STATUS.duplicate), { state: "closed", state_reason: "duplicate" }],
  ["duplicate", { state: "closed", state_reason: "duplicate" }],
]);

export function statusPatch(value: FieldValue): StatePatch {
  const patch = typeof value === "string" ? STATUS_WRITES.get(squash(value)) : undefined;
  if (!patch) {
    const choices = [STATUS_OPEN, ...Object.values(CLOSED_STATUS)].map((s) => `"${s}"`).join(", ");
    throw new UsageError(`GitHub has no status ${JSON.stringify(value)}`, { hint: `choose one of ${choices}` });
  }
  return patch;
}

function text(field: string, value: FieldValue): string {
  if (typeof value !== "string") throw new UsageError(`${field} must be text, not ${JSON.stringify(value)}`);
  return value;
}

function list(value: FieldValue): string[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw new UsageError(`labels must be a list of names, not ${JSON.stringify(value)}`);
  return value.map((v) => v.trim()).filter((v) => v !== "");
}

interface Cached {
  etag: string;
  /** The payload as JSON text: callers may change the objects they get (the engine strips them). */
  json: string;
}

export class GitHubWrites {
  /** ETags of issues read in this process: a re-read sends If-None-Match and may get a free 304. */
  private readonly cache = new Map<string, Cached>();
  private readonly priorityLabels = new Map<string, Promise<string[]>>();
  private queue: Promise<unknown> = Promise.resolve();
  private lastMutation = 0;

  constructor(
    private readonly client: GitHubClient,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async fetchIssue(key: string): Promise<PulledRecord | null> {
    const ref = parseIssueKey(key);
    const cached = this.cache.get(key);
    const res = await this.client.issue(ref, cached?.etag ?? null);
    let raw: unknown;
    if (res.status === 304 && cached) raw = JSON.parse(cached.json);
    else if (res.status >= 300) {
      // 404 gone or no access, 410 deleted, 301 transferred to another repository.
      this.cache.delete(key);
      return null;
    } else {
      raw = res.data;
      const etag = res.headers["etag"];
      if (etag) this.cache.set(key, { etag, json: JSON.stringify(raw) });
    }
    if (isPullRequest(raw)) return null;
    return normaliseIssue(raw, { fullName: ref.repo, id: null });
  }

  async writeIssue(current: PulledRecord, writes: FieldWrite[]): Promise<void> {
    const ref = parseIssueKey(current.issue.key);
    const patch: Record<string, unknown> = {};
    let labels: string[] | undefined;
    let priority: { label: string | null } | undefined;
    // Everything is checked before anything is sent: a bad value leaves the issue untouched.
    for (const w of writes) {
      switch (w.field) {
        case "title":
          if (!text("title", w.value).trim()) throw new UsageError("a GitHub issue needs a title");
          patch.title = w.value;
          break;
        case "description":
          patch.body = w.value === null ? null : text("description", w.value);
          break;
        case "status":
          delete patch.state_reason;
          Object.assign(patch, statusPatch(w.value));
          break;
        case "assignee":
          patch.assignees = w.value === null ? [] : [await this.assignee(ref.repo, text("assignee", w.value))];
          break;
        case "labels":
          labels = list(w.value);
          for (const l of labels) {
            if (priorityOfLabel(l) !== null) throw new UsageError(`"${l}" is the priority on GitHub; write it as the priority field`);
          }
          break;
        case "priority":
          priority = { label: w.value === null ? null : await this.priorityLabel(ref.repo, text("priority", w.value)) };
          break;
        case "due_date":
          throw new UsageError("GitHub issues have no due date of their own (pmsync shows the milestone's due date)", {
            hint: "set the milestone in GitHub instead",
          });
        case "story_points":
          throw new UsageError("GitHub issues have no story points");
        default:
          throw new UsageError(`GitHub cannot write ${String((w as FieldWrite).field)}`);
      }
    }
    if (labels !== undefined || priority !== undefined) {
      const now = labelNames((current.raw as { labels?: unknown } | null)?.labels);
      const plain = labels ?? now.filter((l) => priorityOfLabel(l) === null);
      const prio = priority ? (priority.label ? [priority.label] : []) : now.filter((l) => priorityOfLabel(l) !== null);
      patch.labels = [...plain, ...prio];
    }
    if (Object.keys(patch).length === 0) return;
    await this.mutate(() => this.send(ref, current.issue.key, patch));
  }

  private async send(ref: IssueRef, key: string, patch: Record<string, unknown>): Promise<void> {
    this.cache.delete(key);
    const res = await this.client.updateIssue(ref, patch);
    if (res.status < 300) return;
    if (res.status === 410) throw new RemoteError(`${key} was deleted on GitHub; nothing was written`, { status: 410 });
    if (res.status === 301) throw new RemoteError(`${key} was transferred to another repository; nothing was written`, { status: 301 });
    if (res.status === 404) throw new RemoteError(`${key} is not on GitHub, or this account cannot edit it; nothing was written`, { status: 404 });
    throw new RemoteError(`GitHub refused the change to ${key}: ${validationMessage(res.data)}`, { status: res.status });
  }

  /** One mutation at a time, at least MUTATION_GAP_MS after the previous one. */
  private mutate<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      const wait = this.lastMutation + MUTATION_GAP_MS - Date.now();
      if (wait > 0) await this.sleep(wait);
      try {
        return await fn();
      } finally {
        this.lastMutation = Date.now();
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async assignee(repo: string, value: string): Promise<string> {
    const login = value.trim().replace(/^@/, "");
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(login) || !(await this.client.assignable(repo, login))) {
      throw new UsageError(`"${value}" cannot be assigned issues in ${repo}`, { hint: "use the login of someone with access to the repository" });
    }
    return login;
  }

  private async priorityLabel(repo: string, value: string): Promise<string> {
    let pending = this.priorityLabels.get(repo);
    if (!pending) {
      pending = this.client.labels(repo).then((ls) => ls.map((l) => l.name).filter((n) => priorityOfLabel(n) !== null));
      pending.catch(() => this.priorityLabels.delete(repo));
      this.priorityLabels.set(repo, pending);
    }
    const labels = await pending;
    const want = squash(priorityOfLabel(value) ?? value);
    const hit = labels.find((l) => squash(priorityOfLabel(l)!) === want);
    if (hit) return hit;
    throw new UsageError(`${repo} has no priority ${JSON.stringify(value)}`, {
      hint: labels.length
        ? `choose one of ${labels.map((l) => `"${priorityOfLabel(l)}"`).join(", ")}`
        : `GitHub has no priority field; pmsync reads labels named "priority: <name>", and ${repo} has none (create them in GitHub first)`,
    });
  }
}

/** GitHub's 422: `{message: "Validation Failed", errors: [{resource, field, code, message?}]}`. */
export function validationMessage(body: unknown): string {
  const b = body as { message?: unknown; errors?: unknown } | undefined;
  const parts: string[] = [];
  if (Array.isArray(b?.errors)) {
    for (const e of b.errors) {
      if (typeof e === "string") parts.push(e);
      else if (e && typeof e === "object") {
        const o = e as Record<string, unknown>;
        parts.push(typeof o.message === "string" ? o.message : [o.field, o.code].filter((x) => typeof x === "string").join(" "));
      }
    }
  }
  const head = typeof b?.message === "string" ? b.message : "validation failed (HTTP 422)";
  return parts.length ? `${head}: ${parts.join("; ")}` : head;
}
