// The Jira REST v3 calls pmsync makes, typed by what it reads from them.

import type { HttpClient } from "../../http/client.js";

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

  /** POST keeps a long explicit field list out of the URL. */
  async search(body: { jql: string; fields: string[]; maxResults: number; nextPageToken?: string }): Promise<JiraSearchPage> {
    return (await this.http.json<JiraSearchPage>({ method: "POST", path: "/rest/api/3/search/jql", body, endpoint: "search" })).data;
  }
}
