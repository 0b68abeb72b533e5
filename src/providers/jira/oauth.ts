// Jira Cloud OAuth 2.0 (3LO): authorize URL, the cloud id from accessible-resources, and the
// gateway base URL. Facts: PROVIDERS.md §1.1 (confidential client: the secret is required; an
// exact callback URL, so a fixed port; rotating refresh tokens with `offline_access`).

import { UsageError } from "../../errors.js";
import type { HttpClient } from "../../http/client.js";

export const JIRA_OAUTH = {
  authorizeUrl: "https://auth.atlassian.com/authorize",
  tokenUrl: "https://auth.atlassian.com/oauth/token",
  apiBase: "https://api.atlassian.com",
  /** The callback registered in the Atlassian developer console: http://127.0.0.1:9876/callback */
  port: 9876,
  scopes: "read:jira-work write:jira-work read:jira-user offline_access",
} as const;

export function jiraAuthorizeUrl(base: string, p: { clientId: string; redirectUri: string; state: string; challenge: string }): string {
  const u = new URL(base);
  u.searchParams.set("audience", "api.atlassian.com");
  u.searchParams.set("client_id", p.clientId);
  u.searchParams.set("scope", JIRA_OAUTH.scopes);
  u.searchParams.set("redirect_uri", p.redirectUri);
  u.searchParams.set("state", p.state);
  u.searchParams.set("response_type", "code");
  u.searchParams.set("prompt", "consent");
  // Atlassian ignores PKCE today; it is sent anyway (SPEC §10) and checked where supported.
  u.searchParams.set("code_challenge", p.challenge);
  u.searchParams.set("code_challenge_method", "S256");
  return u.toString();
}

export interface JiraResource {
  id: string;
  name: string;
  url: string;
}

export async function accessibleResources(http: HttpClient, apiBase: string): Promise<JiraResource[]> {
  const res = await http.json<JiraResource[]>({ method: "GET", path: `${apiBase.replace(/\/+$/, "")}/oauth/token/accessible-resources`, endpoint: "resources" });
  return Array.isArray(res.data) ? res.data.filter((r) => typeof r?.id === "string" && typeof r?.url === "string") : [];
}

/** The site to use: the one `--site` names, or the only one the account can reach. */
export function chooseResource(resources: JiraResource[], site: string | undefined): JiraResource {
  const norm = (u: string) => u.replace(/\/+$/, "").toLowerCase();
  if (site) {
    const hit = resources.find((r) => norm(r.url) === norm(site));
    if (!hit) {
      throw new UsageError(`the approved account cannot reach ${site}`, { hint: `sites it can reach: ${resources.map((r) => r.url).join(", ") || "none"}` });
    }
    return hit;
  }
  if (resources.length === 1) return resources[0]!;
  if (!resources.length) throw new UsageError("the approved account cannot reach any Jira site");
  throw new UsageError("the account can reach several Jira sites; choose one with --site", { hint: resources.map((r) => r.url).join(", ") });
}

export function gatewayUrl(apiBase: string, cloudId: string): string {
  return `${apiBase.replace(/\/+$/, "")}/ex/jira/${cloudId}`;
}
