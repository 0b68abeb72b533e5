// How Jira requests are authenticated: email + API token as HTTP Basic, or an OAuth bearer token.

import type { ConnectionConfig } from "../../config.js";
import type { Secret } from "../../auth/credentials.js";
import { UsageError } from "../../errors.js";

export function jiraAuthHeaders(secret: Secret, config: ConnectionConfig): Record<string, string> {
  // An OAuth connection sends bearer tokens, also when the token comes from PMSYNC_TOKEN_<NAME>.
  if (secret.type === "oauth" || config.auth === "oauth") return { authorization: `Bearer ${secret.token}` };
  if (!config.email) throw new UsageError("this Jira connection has no email; run `pmsync login jira --email …` again");
  return { authorization: `Basic ${Buffer.from(`${config.email}:${secret.token}`).toString("base64")}` };
}

export function jiraApiBaseUrl(config: ConnectionConfig): string {
  return (config.api_url ?? config.site).replace(/\/+$/, "");
}
