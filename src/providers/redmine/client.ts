// The Redmine REST (JSON) calls pmsync makes, typed by what it reads from them. Shapes follow
// Redmine 5.0's `*.api.rsb` views (captured samples: /work/shared/reference/redmine-samples/).

import { RemoteError } from "../../errors.js";
import type { HttpClient } from "../../http/client.js";

export interface RedmineRef {
  id: number;
  name: string;
}

export interface RedmineStatus extends RedmineRef {
  /** In issue payloads since Redmine 5.0; always in /issue_statuses.json. */
  is_closed?: boolean;
}

export interface RedmineCustomValue {
  id: number;
  name: string;
  /** Present (true) only for multi-value fields, whose `value` is then an array. */
  multiple?: boolean;
  value: string | string[] | null;
}

/** An issue as /issues.json and /issues/<id>.json render it; absent members are nil on the server. */
export interface RedmineIssue {
  id: number;
  project?: RedmineRef;
  tracker?: RedmineRef;
  status?: RedmineStatus;
  priority?: RedmineRef;
  author?: RedmineRef;
  assigned_to?: RedmineRef;
  category?: RedmineRef;
  fixed_version?: RedmineRef;
  parent?: { id: number };
  subject?: string;
  description?: string | null;
  start_date?: string | null;
  due_date?: string | null;
  done_ratio?: number;
  is_private?: boolean;
  estimated_hours?: number | null;
  total_estimated_hours?: number | null;
  spent_hours?: number;
  total_spent_hours?: number;
  custom_fields?: RedmineCustomValue[];
  created_on?: string;
  updated_on?: string;
  closed_on?: string | null;
  /** Only with `include=allowed_statuses` (Redmine ≥ 5.0): the statuses the workflow allows next. */
  allowed_statuses?: RedmineStatus[];
}

interface ListMeta {
  total_count?: number;
  offset?: number;
  limit?: number;
}

export interface RedmineIssuesPage extends ListMeta {
  issues: RedmineIssue[];
}

export interface RedmineUser {
  id: number;
  login: string;
  admin?: boolean;
  firstname: string;
  lastname: string;
  mail?: string | null;
}

export interface RedmineProject {
  id: number;
  name: string;
  identifier: string;
  parent?: RedmineRef;
  status?: number;
}

export interface RedminePriority extends RedmineRef {
  is_default?: boolean;
  active?: boolean;
}

export interface RedmineMembership {
  id: number;
  project: RedmineRef;
  /** One of these names the member (`group_anonymous`/`group_non_member` for built-in groups). */
  user?: RedmineRef;
  group?: RedmineRef;
  roles: RedmineRef[];
}

export interface RedmineCustomField {
  id: number;
  name: string;
  /** `issue`, `project`, `user`, `time_entry`, … */
  customized_type?: string;
  /** string, text, link, int, float, date, bool, list, enumeration, user, version, attachment, key_value */
  field_format: string;
  multiple?: boolean;
  possible_values?: { value: string; label: string }[];
  [k: string]: unknown;
}

/** Redmine clamps `limit` to 100 (ApplicationController#api_offset_and_limit). */
export const PAGE_SIZE = 100;

export interface IssueFilter {
  /** One project by identifier: Redmine resolves it (404 when unknown) and adds its subprojects. */
  project?: string;
  /** Several projects by numeric id, in the long filter form (the `project_id` parameter takes one). */
  projectIds?: number[];
  /** `updated_on >= this`, ISO 8601 UTC at second precision. */
  updatedSince?: string;
}

export class RedmineClient {
  constructor(private readonly http: HttpClient) {}

  async currentUser(): Promise<{ user: RedmineUser | undefined; serverTimeMs: number | null }> {
    const res = await this.http.json<{ user?: RedmineUser }>({ method: "GET", path: "/users/current.json", endpoint: "users/current" });
    const date = res.headers["date"] ? Date.parse(res.headers["date"]) : Number.NaN;
    return { user: res.data?.user, serverTimeMs: Number.isNaN(date) ? null : date };
  }

  /**
   * One page of issues. `status_id=*` always: Redmine lists open issues only by default. Filter
   * operators (`>=`) are sent URL-encoded, as Redmine requires, by the client's query handling.
   * Null when the scoped project does not exist (404).
   */
  async issues(filter: IssueFilter, sort: string, offset: number, limit = PAGE_SIZE): Promise<RedmineIssuesPage | null> {
    let path = "/issues.json";
    const query: Record<string, string | number | undefined> = { sort, offset, limit };
    if (filter.projectIds && filter.projectIds.length > 0) {
      // The long form (f[]/op[]/v[]) replaces every short filter, so status and date go in it too.
      const p = new URLSearchParams();
      p.append("f[]", "status_id");
      p.append("op[status_id]", "*");
      p.append("f[]", "project_id");
      p.append("op[project_id]", "=");
      for (const id of filter.projectIds) p.append("v[project_id][]", String(id));
      if (filter.updatedSince) {
        p.append("f[]", "updated_on");
        p.append("op[updated_on]", ">=");
        p.append("v[updated_on][]", filter.updatedSince);
      }
      path += `?${p.toString()}`;
    } else {
      query.status_id = "*";
      query.project_id = filter.project;
      query.updated_on = filter.updatedSince ? `>=${filter.updatedSince}` : undefined;
    }
    const res = await this.http.json<RedmineIssuesPage>({ method: "GET", path, query, endpoint: "issues", accept: [404] });
    if (res.status === 404) return null;
    if (!res.data || !Array.isArray(res.data.issues)) throw new RemoteError("/issues.json did not return an `issues` list; the page was not written");
    return res.data;
  }

  /** One issue; null when it does not exist (404). `include` adds e.g. `allowed_statuses`. */
  async issue(id: number, include?: string): Promise<RedmineIssue | null> {
    const res = await this.http.json<{ issue?: RedmineIssue }>({
      method: "GET",
      path: `/issues/${id}.json`,
      query: { include },
      endpoint: "issue",
      accept: [404],
    });
    if (res.status === 404) return null;
    if (!res.data?.issue || typeof res.data.issue.id !== "number") throw new RemoteError(`/issues/${id}.json did not return an issue`);
    return res.data.issue;
  }

  /** PUT answers 204 with an empty body; false when the issue is gone (404). */
  async updateIssue(id: number, fields: Record<string, unknown>): Promise<boolean> {
    const res = await this.http.json<unknown>({ method: "PUT", path: `/issues/${id}.json`, body: { issue: fields }, endpoint: "issue_update", accept: [404] });
    return res.status !== 404;
  }

  projects(): Promise<RedmineProject[]> {
    return this.all<RedmineProject>("/projects.json", "projects", "projects");
  }

  memberships(project: number | string): Promise<RedmineMembership[]> {
    return this.all<RedmineMembership>(`/projects/${encodeURIComponent(String(project))}/memberships.json`, "memberships", "memberships");
  }

  async statuses(): Promise<RedmineStatus[]> {
    return this.list<RedmineStatus>("/issue_statuses.json", "issue_statuses", "issue_statuses");
  }

  async priorities(): Promise<RedminePriority[]> {
    return this.list<RedminePriority>("/enumerations/issue_priorities.json", "issue_priorities", "enumerations");
  }

  /** Admin only: null on 403, so a non-admin account still syncs. */
  async customFields(): Promise<RedmineCustomField[] | null> {
    const res = await this.http.json<{ custom_fields?: RedmineCustomField[] }>({ method: "GET", path: "/custom_fields.json", endpoint: "custom_fields", accept: [403] });
    if (res.status === 403) return null;
    if (!Array.isArray(res.data?.custom_fields)) throw new RemoteError("/custom_fields.json did not return a `custom_fields` list");
    return res.data.custom_fields;
  }

  /** Users matching login, name or mail (admin only: null on 403). */
  async findUsers(name: string): Promise<RedmineUser[] | null> {
    const res = await this.http.json<{ users?: RedmineUser[] }>({ method: "GET", path: "/users.json", query: { name, limit: PAGE_SIZE }, endpoint: "users", accept: [403] });
    if (res.status === 403) return null;
    return Array.isArray(res.data?.users) ? res.data.users : [];
  }

  private async list<T>(path: string, key: string, endpoint: string): Promise<T[]> {
    const res = await this.http.json<Record<string, unknown>>({ method: "GET", path, endpoint });
    const items = res.data?.[key];
    if (!Array.isArray(items)) throw new RemoteError(`${path} did not return a \`${key}\` list`);
    return items as T[];
  }

  /** Every page of an offset-paged list (projects, memberships: small, stable lists). */
  private async all<T>(path: string, key: string, endpoint: string): Promise<T[]> {
    const out: T[] = [];
    for (let offset = 0; ; ) {
      const res = await this.http.json<Record<string, unknown> & ListMeta>({ method: "GET", path, query: { offset, limit: PAGE_SIZE }, endpoint });
      const items = res.data?.[key];
      if (!Array.isArray(items)) throw new RemoteError(`${path} did not return a \`${key}\` list`);
      out.push(...(items as T[]));
      const total = res.data.total_count;
      const limit = typeof res.data.limit === "number" && res.data.limit > 0 ? res.data.limit : PAGE_SIZE;
      // total_count ends the loop early; a short or empty page ends it whatever total_count says.
      if (items.length === 0 || items.length < limit || (typeof total === "number" && offset + items.length >= total)) return out;
      offset += items.length;
    }
  }
}
