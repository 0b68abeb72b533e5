// Static Jira Cloud objects the sandbox serves: the field catalog, statuses, priorities,
// issue types, resolutions, users, projects, components, versions and custom-field options.
// Shapes follow the real REST v3 responses. Objects that carry `self` URLs are built per base URL
// (the site URL, or the `/ex/jira/{cloudId}` gateway base that OAuth callers use).

import { createHash } from "node:crypto";

export interface FieldSchema {
  type: string;
  items?: string;
  system?: string;
  custom?: string;
  customId?: number;
}

export interface FieldDef {
  id: string;
  name: string;
  custom: boolean;
  orderable: boolean;
  navigable: boolean;
  searchable: boolean;
  clauseNames: string[];
  schema?: FieldSchema;
}

const CF = "com.atlassian.jira.plugin.system.customfieldtypes:";

function sys(
  id: string,
  name: string,
  schema: FieldSchema | undefined,
  opts: { orderable?: boolean; navigable?: boolean; searchable?: boolean; clauseNames?: string[] } = {},
): FieldDef {
  const def: FieldDef = {
    id,
    name,
    custom: false,
    orderable: opts.orderable ?? true,
    navigable: opts.navigable ?? true,
    searchable: opts.searchable ?? true,
    clauseNames: opts.clauseNames ?? [id],
  };
  if (schema) def.schema = schema;
  return def;
}

function custom(num: number, name: string, type: string, customType: string, items?: string): FieldDef {
  const schema: FieldSchema = { type };
  if (items) schema.items = items;
  schema.custom = customType;
  schema.customId = num;
  return {
    id: `customfield_${num}`,
    name,
    custom: true,
    orderable: true,
    navigable: true,
    searchable: true,
    clauseNames: [`cf[${num}]`, name],
    schema,
  };
}

/** Every field the sandbox knows, in the order `/rest/api/3/field` lists them. */
export const FIELDS: readonly FieldDef[] = [
  sys("statuscategorychangedate", "Status Category Changed", { type: "datetime", system: "statuscategorychangedate" }, { orderable: false, clauseNames: ["statusCategoryChangedDate"] }),
  sys("parent", "Parent", { type: "issuelink", system: "parent" }, { orderable: false }),
  sys("issuetype", "Issue Type", { type: "issuetype", system: "issuetype" }, { clauseNames: ["issuetype", "type"] }),
  sys("timespent", "Time Spent", { type: "number", system: "timespent" }, { orderable: false, clauseNames: ["timespent"] }),
  sys("project", "Project", { type: "project", system: "project" }),
  sys("fixVersions", "Fix versions", { type: "array", items: "version", system: "fixVersions" }, { clauseNames: ["fixVersion"] }),
  sys("aggregatetimespent", "Σ Time Spent", { type: "number", system: "aggregatetimespent" }, { orderable: false, searchable: false, clauseNames: [] }),
  sys("resolution", "Resolution", { type: "resolution", system: "resolution" }),
  sys("resolutiondate", "Resolved", { type: "datetime", system: "resolutiondate" }, { orderable: false, clauseNames: ["resolutiondate", "resolved"] }),
  sys("workratio", "Work Ratio", { type: "number", system: "workratio" }, { orderable: false }),
  sys("lastViewed", "Last Viewed", { type: "datetime", system: "lastViewed" }, { orderable: false, searchable: false, clauseNames: ["lastViewed"] }),
  sys("watches", "Watchers", { type: "watches", system: "watches" }, { orderable: false, clauseNames: ["watchers"] }),
  sys("thumbnail", "Images", undefined, { orderable: false, searchable: false, clauseNames: [] }),
  sys("created", "Created", { type: "datetime", system: "created" }, { orderable: false, clauseNames: ["created", "createdDate"] }),
  sys("priority", "Priority", { type: "priority", system: "priority" }),
  sys("labels", "Labels", { type: "array", items: "string", system: "labels" }),
  sys("timeestimate", "Remaining Estimate", { type: "number", system: "timeestimate" }, { orderable: false, clauseNames: ["remainingEstimate", "timeestimate"] }),
  sys("aggregatetimeoriginalestimate", "Σ Original Estimate", { type: "number", system: "aggregatetimeoriginalestimate" }, { orderable: false, searchable: false, clauseNames: [] }),
  sys("versions", "Affects versions", { type: "array", items: "version", system: "versions" }, { clauseNames: ["affectedVersion"] }),
  sys("issuelinks", "Linked Issues", { type: "array", items: "issuelinks", system: "issuelinks" }, { clauseNames: [] }),
  sys("assignee", "Assignee", { type: "user", system: "assignee" }),
  sys("updated", "Updated", { type: "datetime", system: "updated" }, { orderable: false, clauseNames: ["updated", "updatedDate"] }),
  sys("status", "Status", { type: "status", system: "status" }, { orderable: false }),
  sys("components", "Components", { type: "array", items: "component", system: "components" }, { clauseNames: ["component"] }),
  sys("issuekey", "Key", undefined, { orderable: false, clauseNames: ["id", "issue", "issuekey", "key"] }),
  sys("timeoriginalestimate", "Original estimate", { type: "number", system: "timeoriginalestimate" }, { orderable: false, clauseNames: ["originalEstimate", "timeoriginalestimate"] }),
  sys("description", "Description", { type: "string", system: "description" }),
  sys("timetracking", "Time tracking", { type: "timetracking", system: "timetracking" }, { navigable: false, searchable: false, clauseNames: [] }),
  sys("security", "Security Level", { type: "securitylevel", system: "security" }, { clauseNames: ["level"] }),
  sys("attachment", "Attachment", { type: "array", items: "attachment", system: "attachment" }, { navigable: false, clauseNames: ["attachments"] }),
  sys("aggregatetimeestimate", "Σ Remaining Estimate", { type: "number", system: "aggregatetimeestimate" }, { orderable: false, searchable: false, clauseNames: [] }),
  sys("summary", "Summary", { type: "string", system: "summary" }),
  sys("creator", "Creator", { type: "user", system: "creator" }, { orderable: false }),
  sys("subtasks", "Sub-tasks", { type: "array", items: "issuelinks", system: "subtasks" }, { orderable: false, clauseNames: ["subtasks"] }),
  sys("reporter", "Reporter", { type: "user", system: "reporter" }),
  sys("aggregateprogress", "Σ Progress", { type: "progress", system: "aggregateprogress" }, { orderable: false, searchable: false, clauseNames: [] }),
  sys("environment", "Environment", { type: "string", system: "environment" }),
  sys("duedate", "Due date", { type: "date", system: "duedate" }, { clauseNames: ["due", "duedate"] }),
  sys("progress", "Progress", { type: "progress", system: "progress" }, { orderable: false, searchable: false, clauseNames: ["progress"] }),
  sys("comment", "Comment", { type: "comments-page", system: "comment" }, { navigable: false, clauseNames: ["comment"] }),
  sys("votes", "Votes", { type: "votes", system: "votes" }, { orderable: false, clauseNames: ["votes"] }),
  sys("worklog", "Log Work", { type: "array", items: "worklog", system: "worklog" }, { navigable: false, searchable: false, clauseNames: [] }),
  sys("issuerestriction", "Restrict to", { type: "issuerestriction", system: "issuerestriction" }, { navigable: true, searchable: false, clauseNames: [] }),
  custom(10000, "Development", "any", "com.atlassian.jira.plugins.jira-development-integration-plugin:devsummarycf"),
  custom(10016, "Story point estimate", "number", "com.pyxis.greenhopper.jira:jsw-story-points"),
  custom(10019, "Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank"),
  custom(10020, "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint", "json"),
  custom(10022, "Target start", "date", "com.atlassian.jpo:jpo-custom-field-baseline-start"),
  custom(10026, "Story Points", "number", `${CF}float`),
  custom(10040, "Team", "option", `${CF}select`),
  custom(10041, "Team", "string", `${CF}textfield`),
  custom(10042, "Severity", "option", `${CF}select`),
  custom(10043, "Customer Impact", "array", `${CF}multiselect`, "option"),
  custom(10044, "Design doc", "string", `${CF}url`),
  custom(10045, "QA Owner", "user", `${CF}userpicker`),
];

/** Ids that `/field` lists but that never appear inside an issue's `fields`. */
export const NOT_ISSUE_FIELDS = new Set(["issuekey", "thumbnail"]);

export const FIELD_BY_ID = new Map(FIELDS.map((f) => [f.id, f]));

// ---------------------------------------------------------------------------------------------
// Statuses, priorities, issue types, resolutions

export interface StatusDef {
  id: string;
  name: string;
  description: string;
  category: 2 | 3 | 4;
  /** Unified category the resolution/status maps to in pmsync; used only for generation. */
  done: boolean;
}

export const STATUS_CATEGORIES = {
  2: { id: 2, key: "new", colorName: "blue-gray", name: "To Do" },
  4: { id: 4, key: "indeterminate", colorName: "yellow", name: "In Progress" },
  3: { id: 3, key: "done", colorName: "green", name: "Done" },
} as const;

export const STATUSES: readonly StatusDef[] = [
  { id: "10000", name: "To Do", description: "", category: 2, done: false },
  { id: "3", name: "In Progress", description: "This issue is being actively worked on at the moment by the assignee.", category: 4, done: false },
  { id: "10001", name: "In Review", description: "", category: 4, done: false },
  { id: "10002", name: "Done", description: "", category: 3, done: true },
  { id: "10003", name: "Won't Do", description: "", category: 3, done: true },
];
export const ST_TODO = 0;
export const ST_PROGRESS = 1;
export const ST_REVIEW = 2;
export const ST_DONE = 3;
export const ST_WONTDO = 4;

export const PRIORITIES = [
  { id: "1", name: "Highest", icon: "highest" },
  { id: "2", name: "High", icon: "high" },
  { id: "3", name: "Medium", icon: "medium" },
  { id: "4", name: "Low", icon: "low" },
  { id: "5", name: "Lowest", icon: "lowest" },
] as const;

export interface IssueTypeDef {
  id: string;
  name: string;
  description: string;
  subtask: boolean;
  hierarchyLevel: number;
  avatarId: number;
}

export const ISSUE_TYPES: readonly IssueTypeDef[] = [
  { id: "10001", name: "Story", description: "Functionality or a feature expressed as a user goal.", subtask: false, hierarchyLevel: 0, avatarId: 10315 },
  { id: "10004", name: "Bug", description: "A problem or error.", subtask: false, hierarchyLevel: 0, avatarId: 10303 },
  { id: "10002", name: "Task", description: "A small, distinct piece of work.", subtask: false, hierarchyLevel: 0, avatarId: 10318 },
  { id: "10000", name: "Epic", description: "A big user story that needs to be broken down.", subtask: false, hierarchyLevel: 1, avatarId: 10307 },
  { id: "10003", name: "Sub-task", description: "A small piece of work that's part of a larger task.", subtask: true, hierarchyLevel: -1, avatarId: 10316 },
];
export const T_STORY = 0;
export const T_BUG = 1;
export const T_TASK = 2;
export const T_EPIC = 3;
export const T_SUBTASK = 4;

export const RESOLUTIONS = [
  { id: "10000", name: "Done", description: "Work has been completed on this issue." },
  { id: "10001", name: "Won't Do", description: "This issue won't be actioned." },
  { id: "10002", name: "Duplicate", description: "The problem is a duplicate of an existing issue." },
  { id: "10003", name: "Cannot Reproduce", description: "This issue couldn't be reproduced." },
] as const;
export const R_DONE = 0;
export const R_WONTDO = 1;
export const R_DUPLICATE = 2;
export const R_CANNOT = 3;

// ---------------------------------------------------------------------------------------------
// People

export interface UserDef {
  name: string;
  timeZone: string;
  active: boolean;
  accountType: "atlassian" | "app";
  /** Gravatar-style avatar (true) or Atlassian initials avatar (false). */
  gravatar: boolean;
}

/** Index 0 is the account the sandbox's credentials belong to (its time zone is configurable). */
export const USERS: readonly UserDef[] = [
  { name: "Ana Lima", timeZone: "America/Los_Angeles", active: true, accountType: "atlassian", gravatar: false },
  { name: "Kenji Watanabe", timeZone: "Asia/Tokyo", active: true, accountType: "atlassian", gravatar: true },
  { name: "Priya Raman", timeZone: "Asia/Kolkata", active: true, accountType: "atlassian", gravatar: false },
  { name: "Lukas Müller", timeZone: "Europe/Berlin", active: true, accountType: "atlassian", gravatar: false },
  { name: "Chloé Dubois", timeZone: "Europe/Paris", active: true, accountType: "atlassian", gravatar: false },
  { name: "Oluwaseun Adeyemi", timeZone: "Africa/Lagos", active: true, accountType: "atlassian", gravatar: false },
  { name: "Sofia Rossi", timeZone: "Europe/Rome", active: true, accountType: "atlassian", gravatar: false },
  { name: "Mateus Oliveira", timeZone: "America/Sao_Paulo", active: true, accountType: "atlassian", gravatar: false },
  { name: "Zhang Wei", timeZone: "Asia/Shanghai", active: true, accountType: "atlassian", gravatar: false },
  { name: "Fatima Zahra El Amrani", timeZone: "Africa/Casablanca", active: true, accountType: "atlassian", gravatar: false },
  { name: "Björn Lindqvist", timeZone: "Europe/Stockholm", active: false, accountType: "atlassian", gravatar: false },
  { name: "Aisha Khan", timeZone: "Asia/Karachi", active: true, accountType: "atlassian", gravatar: false },
];
/** Jira's automation actor, seen as `creator` on issues a rule created. */
export const AUTOMATION_USER: UserDef = { name: "Automation for Jira", timeZone: "Etc/UTC", active: true, accountType: "app", gravatar: false };

/** A person's email address: the sandbox account's own for index 0, else `first.last@example.com`. */
export function emailOf(index: number, accountEmail: string): string {
  if (index === 0) return accountEmail;
  const u = USERS[index];
  const ascii = (u?.name ?? `user${index}`).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  return `${ascii.split(/\s+/).filter(Boolean).join(".")}@example.com`;
}

function hexOf(text: string, len: number): string {
  return createHash("sha256").update(text).digest("hex").slice(0, len);
}

export function accountIdOf(u: UserDef, index: number): string {
  if (u.accountType === "app") return "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077";
  // Two real-world formats: 24 hex digits, and the older `557058:<uuid>`.
  if (index % 5 === 3) {
    const h = hexOf("uuid:" + u.name, 32);
    return `557058:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  }
  return "5b" + hexOf("acct:" + u.name, 22);
}

function initials(name: string): string {
  const parts = name.split(/\s+/).filter(Boolean);
  const first = parts[0]?.[0] ?? "X";
  const last = parts.length > 1 ? (parts[parts.length - 1]?.[0] ?? "") : "";
  return (first + last).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toUpperCase();
}

function avatarUrls(u: UserDef, index: number): Record<string, string> {
  const initialsUrl = `https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/initials/${initials(u.name)}-${index % 6}.png`;
  if (!u.gravatar) {
    return { "48x48": initialsUrl, "24x24": initialsUrl, "16x16": initialsUrl, "32x32": initialsUrl };
  }
  const h = hexOf("gravatar:" + u.name, 32);
  const base = `https://secure.gravatar.com/avatar/${h}?d=${encodeURIComponent(initialsUrl)}`;
  return { "48x48": base, "24x24": base, "16x16": base, "32x32": base };
}

// ---------------------------------------------------------------------------------------------
// Per-site catalog objects

export interface ProjectDef {
  key: string;
  id: string;
  name: string;
  /** Company-managed projects use "Story Points"; team-managed ones "Story point estimate". */
  companyManaged: boolean;
}

const PROJECT_NAMES: Record<string, string> = {
  ENG: "Engineering",
  OPS: "Operations",
  WEB: "Web Platform",
  MOB: "Mobile Apps",
  DATA: "Data Platform",
  SUP: "Customer Support",
};

export function projectDefs(keys: readonly string[]): ProjectDef[] {
  return keys.map((key, p) => ({
    key,
    id: String(10000 + p),
    name: PROJECT_NAMES[key] ?? `${key.charAt(0)}${key.slice(1).toLowerCase()} Project`,
    companyManaged: p % 2 === 0,
  }));
}

const COMPONENT_NAMES = ["Backend", "Frontend", "API", "Infrastructure", "Billing", "Auth", "Search", "Notifications", "Mobile", "Reporting"];
export const COMPONENTS_PER_PROJECT = 4;
export const VERSIONS_PER_PROJECT = 6;

export const TEAM_OPTIONS = ["Platform", "Payments", "Growth", "Core Experience", "Data"];
export const SEVERITY_OPTIONS = ["S1 - Critical", "S2 - Major", "S3 - Minor", "S4 - Trivial"];
export const IMPACT_OPTIONS = ["Enterprise", "SMB", "Internal", "Partners"];

type Json = unknown;

/** JSON objects with `self` URLs for one API base. Shared between rendered issues (never mutated). */
export class SiteCatalog {
  readonly base: string;
  readonly users: Json[];
  readonly automationUser: Json;
  readonly accountIds: string[];
  readonly statuses: Json[];
  readonly priorities: Json[];
  readonly issueTypes: Json[];
  readonly resolutions: Json[];
  readonly projects: Json[];
  readonly components: Json[][];
  readonly versions: Json[][];
  readonly teamOptions: Json[];
  readonly severityOptions: Json[];
  readonly impactOptions: Json[];
  /** The same objects pre-serialised, spliced into rendered issues as they are. */
  readonly json: {
    users: string[];
    automationUser: string;
    statuses: string[];
    priorities: string[];
    issueTypes: string[];
    resolutions: string[];
    projects: string[];
    components: string[][];
    versions: string[][];
    teamOptions: string[];
    severityOptions: string[];
    impactOptions: string[];
  };

  constructor(base: string, projects: readonly ProjectDef[], accountTimeZone: string, versionDates: readonly number[]) {
    this.base = base;
    const api = `${base}/rest/api/3`;
    this.accountIds = USERS.map((u, i) => accountIdOf(u, i));
    this.users = USERS.map((u, i) => this.userJson(u, i, i === 0 ? accountTimeZone : u.timeZone));
    this.automationUser = this.userJson(AUTOMATION_USER, 99, AUTOMATION_USER.timeZone);
    this.statuses = STATUSES.map((s) => {
      const c = STATUS_CATEGORIES[s.category];
      return {
        self: `${api}/status/${s.id}`,
        description: s.description,
        iconUrl: `${base}/`,
        name: s.name,
        id: s.id,
        statusCategory: { self: `${api}/statuscategory/${c.id}`, id: c.id, key: c.key, colorName: c.colorName, name: c.name },
      };
    });
    this.priorities = PRIORITIES.map((p) => ({
      self: `${api}/priority/${p.id}`,
      iconUrl: `${base}/images/icons/priorities/${p.icon}.svg`,
      name: p.name,
      id: p.id,
    }));
    this.issueTypes = ISSUE_TYPES.map((t) => ({
      self: `${api}/issuetype/${t.id}`,
      id: t.id,
      description: t.description,
      iconUrl: `${api}/universal_avatar/view/type/issuetype/avatar/${t.avatarId}?size=medium`,
      name: t.name,
      subtask: t.subtask,
      avatarId: t.avatarId,
      hierarchyLevel: t.hierarchyLevel,
    }));
    this.resolutions = RESOLUTIONS.map((r) => ({ self: `${api}/resolution/${r.id}`, id: r.id, description: r.description, name: r.name }));
    this.projects = projects.map((p, i) => ({
      self: `${api}/project/${p.id}`,
      id: p.id,
      key: p.key,
      name: p.name,
      projectTypeKey: "software",
      simplified: !p.companyManaged,
      avatarUrls: projectAvatars(api, 10400 + i),
    }));
    this.components = projects.map((p, pi) =>
      Array.from({ length: COMPONENTS_PER_PROJECT }, (_, c) => {
        const id = String(10000 + pi * COMPONENTS_PER_PROJECT + c);
        const name = COMPONENT_NAMES[(pi * 3 + c) % COMPONENT_NAMES.length] ?? "General";
        return { self: `${api}/component/${id}`, id, name, description: `${name} work in ${p.name}` };
      }),
    );
    this.versions = projects.map((p, pi) =>
      versionDates.map((when, v) => {
        const id = String(10000 + pi * VERSIONS_PER_PROJECT + v);
        const d = new Date(when);
        const name = `${d.getUTCFullYear()}.${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
        const released = v < versionDates.length - 2;
        return {
          self: `${api}/version/${id}`,
          id,
          description: `${p.key} release ${name}`,
          name,
          archived: false,
          released,
          releaseDate: d.toISOString().slice(0, 10),
        };
      }),
    );
    const option = (values: string[], first: number): Json[] =>
      values.map((value, i) => ({ self: `${api}/customFieldOption/${first + i}`, value, id: String(first + i) }));
    this.teamOptions = option(TEAM_OPTIONS, 10020);
    this.severityOptions = option(SEVERITY_OPTIONS, 10030);
    this.impactOptions = option(IMPACT_OPTIONS, 10040);
    const ser = (list: Json[]): string[] => list.map((x) => JSON.stringify(x));
    this.json = {
      users: ser(this.users),
      automationUser: JSON.stringify(this.automationUser),
      statuses: ser(this.statuses),
      priorities: ser(this.priorities),
      issueTypes: ser(this.issueTypes),
      resolutions: ser(this.resolutions),
      projects: ser(this.projects),
      components: this.components.map(ser),
      versions: this.versions.map(ser),
      teamOptions: ser(this.teamOptions),
      severityOptions: ser(this.severityOptions),
      impactOptions: ser(this.impactOptions),
    };
  }

  private userJson(u: UserDef, index: number, timeZone: string): Json {
    const accountId = accountIdOf(u, index);
    return {
      self: `${this.base}/rest/api/3/user?accountId=${encodeURIComponent(accountId)}`,
      accountId,
      avatarUrls: avatarUrls(u, index),
      displayName: u.name,
      active: u.active,
      timeZone,
      accountType: u.accountType,
    };
  }
}

function projectAvatars(api: string, id: number): Record<string, string> {
  const u = `${api}/universal_avatar/view/type/project/avatar/${id}`;
  return { "48x48": u, "24x24": `${u}?size=small`, "16x16": `${u}?size=xsmall`, "32x32": `${u}?size=medium` };
}

/** The `/field` response for one API base (no `self` URLs there, so base-independent). */
export function fieldCatalogJson(): unknown[] {
  return FIELDS.map((f) => {
    const out: Record<string, unknown> = { id: f.id, key: f.id, name: f.name };
    if (f.custom) out["untranslatedName"] = f.name;
    out["custom"] = f.custom;
    out["orderable"] = f.orderable;
    out["navigable"] = f.navigable;
    out["searchable"] = f.searchable;
    out["clauseNames"] = f.clauseNames;
    if (f.schema) out["schema"] = f.schema;
    return out;
  });
}
