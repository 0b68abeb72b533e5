// The Jira REST v3 calls pmsync makes, typed by what it reads from them.

import { RemoteError } from "../../errors.js";
import { parseJsonBody, skipJsonSpace, type HttpClient } from "../../http/client.js";

export interface JiraMyself {
  accountId: string;
  displayName: string;
  emailAddress?: string;
  timeZone?: string;
}

export interface JiraField {
  id: string;
  key?: string;
  name: string;
  custom: boolean;
  navigable?: boolean;
  schema?: { type?: string; items?: string; system?: string; custom?: string; customId?: number };
}

export interface JiraIssue {
  id: string;
  key: string;
  self?: string;
  fields: Record<string, unknown>;
}

export interface JiraSearchPage {
  issues: JiraIssue[];
  nextPageToken?: string;
  isLast?: boolean;
}

/** Where a page says the listing goes on: its `nextPageToken`, unless it is the last page. */
export function continuationOf(page: JiraSearchPage): string | null {
  const token = typeof page.nextPageToken === "string" && page.nextPageToken !== "" ? page.nextPageToken : null;
  return token !== null && page.isLast !== true ? token : null;
}

const TOKEN_KEY = Buffer.from('"nextPageToken"');
const LAST_KEY = Buffer.from('"isLast"');

/**
 * `continuationOf` read from the raw bytes without parsing the page (the top-level members
 * follow `issues` in Jira's answers, so they are found from the end); undefined when the bytes
 * do not say for certain. The decoder compares it with the parsed page, so a wrong read fails
 * loudly instead of skipping pages.
 */
export function peekContinuation(body: Buffer): string | null | undefined {
  const token = memberValue(body, TOKEN_KEY);
  const last = memberValue(body, LAST_KEY);
  if (token === undefined || last === undefined) return undefined;
  return continuationOf({ issues: [], ...(token === null ? {} : { nextPageToken: token as string }), ...(last === null ? {} : { isLast: last as boolean }) });
}

/** The JSON value after the last `"key":` (null when the key is absent); undefined when unsure. */
function memberValue(body: Buffer, key: Buffer): unknown {
  const at = body.lastIndexOf(key);
  if (at < 0) return null;
  let i = skipJsonSpace(body, at + key.length);
  if (body[i] !== 0x3a) return undefined; // not a member name: a string value that happens to match
  i = skipJsonSpace(body, i + 1);
  let end = i;
  if (body[i] === 0x22) {
    for (end = i + 1; end < body.length && body[end] !== 0x22; end++) if (body[end] === 0x5c) end++;
    end++;
  } else {
    while (end < body.length && body[end]! >= 0x61 && body[end]! <= 0x7a) end++; // true, false, null
  }
  try {
    const value: unknown = JSON.parse(body.subarray(i, end).toString());
    return typeof value === "string" || typeof value === "boolean" ? value : undefined;
  } catch {
    return undefined;
  }
}

export interface JiraStatusRef {
  id: string;
  name: string;
  statusCategory?: { key?: string };
}

export interface JiraTransition {
  id: string;
  name: string;
  to: JiraStatusRef;
}

export interface JiraPriority {
  id: string;
  name: string;
}

export interface JiraUser {
  accountId: string;
  displayName: string;
  emailAddress?: string;
  active?: boolean;
}

/** Jira caps pages at 100 issues when fields are requested (5000 for ids only). */
export const SEARCH_PAGE_SIZE = 100;

export class JiraClient {
  constructor(private readonly http: HttpClient) {}

  async myself(): Promise<{ me: JiraMyself; serverTimeMs: number | null }> {
    const res = await this.http.json<JiraMyself>({ method: "GET", path: "/rest/api/3/myself", endpoint: "myself" });
    const date = res.headers["date"] ? Date.parse(res.headers["date"]) : Number.NaN;
    return { me: res.data, serverTimeMs: Number.isNaN(date) ? null : date };
  }

  async fields(): Promise<JiraField[]> {
    return (await this.http.json<JiraField[]>({ method: "GET", path: "/rest/api/3/field", endpoint: "field" })).data;
  }

  /** One issue with the given fields; null when it is gone (or no longer visible): 404. */
  async issue(key: string, fields: string[]): Promise<JiraIssue | null> {
    const res = await this.http.json<JiraIssue>({ method: "GET", path: issuePath(key), query: { fields: fields.join(",") }, endpoint: "issue", accept: [404] });
    return res.status === 404 ? null : res.data;
  }

  /** PUT /issue/{key} `{fields}` → 204. Jira's 400 carries `errors` by field id. */
  async editIssue(key: string, fields: Record<string, unknown>): Promise<void> {
    await this.http.json({ method: "PUT", path: issuePath(key), body: { fields }, endpoint: "issue" });
  }

  async editMeta(key: string): Promise<{ fields?: Record<string, unknown> }> {
    return (await this.http.json<{ fields?: Record<string, unknown> }>({ method: "GET", path: `${issuePath(key)}/editmeta`, endpoint: "issue" })).data;
  }

  /** The transitions the workflow offers from the issue's current status. */
  async transitions(key: string): Promise<JiraTransition[]> {
    const res = await this.http.json<{ transitions?: JiraTransition[] }>({ method: "GET", path: `${issuePath(key)}/transitions`, endpoint: "transitions" });
    return Array.isArray(res.data?.transitions) ? res.data.transitions : [];
  }

  async doTransition(key: string, id: string): Promise<void> {
    await this.http.json({ method: "POST", path: `${issuePath(key)}/transitions`, body: { transition: { id } }, endpoint: "transitions" });
  }

  async priorities(): Promise<JiraPriority[]> {
    const res = await this.http.json<JiraPriority[]>({ method: "GET", path: "/rest/api/3/priority", endpoint: "priority" });
    return Array.isArray(res.data) ? res.data : [];
  }

  /** People who can be assigned `issueKey`, matching `query` (name or email prefix) or exactly `accountId`. */
  async assignableUsers(issueKey: string, match: { query: string } | { accountId: string }): Promise<JiraUser[]> {
    const res = await this.http.json<JiraUser[]>({ method: "GET", path: "/rest/api/3/user/assignable/search", query: { issueKey, ...match }, endpoint: "user" });
    return Array.isArray(res.data) ? res.data : [];
  }

  /**
   * One search page as bytes (parsed by `parseSearchPage`, possibly on another thread). POST keeps
   * a long explicit field list out of the URL.
   */
  async searchBytes(body: JiraSearchRequest, bodyBuffer?: (size: number) => ArrayBuffer): Promise<Buffer> {
    return (await this.http.jsonBytes({ method: "POST", path: SEARCH_PATH, body, endpoint: "search", ...(bodyBuffer ? { bodyBuffer } : {}) })).data;
  }
}

export interface JiraSearchRequest {
  jql: string;
  fields: string[];
  maxResults: number;
  nextPageToken?: string;
}

const SEARCH_PATH = "/rest/api/3/search/jql";

export function parseSearchPage(body: Buffer): JiraSearchPage {
  const page = parseJsonBody<JiraSearchPage | null>(body, `POST ${SEARCH_PATH}`);
  if (!page || !Array.isArray(page.issues)) throw new RemoteError("a search page has no `issues` list; the page was not written");
  return page;
}

function issuePath(key: string): string {
  return `/rest/api/3/issue/${encodeURIComponent(key)}`;
}
