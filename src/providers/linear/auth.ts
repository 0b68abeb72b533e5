// How Linear requests are authenticated and where they go. A personal API key is sent as the
// bare `Authorization` value: Linear refuses an API key behind `Bearer` (PROVIDERS.md §3.1,
// §12.7). OAuth access tokens are bearer tokens.

import type { ConnectionConfig } from "../../config.js";
import type { Secret } from "../../auth/credentials.js";
import { UsageError } from "../../errors.js";

export const LINEAR_SITE = "https://linear.app";
export const LINEAR_API = "https://api.linear.app";

export function linearAuthHeaders(secret: Secret, config: ConnectionConfig): Record<string, string> {
  // An OAuth connection sends bearer tokens, also when the token comes from PMSYNC_TOKEN_<NAME>.
  if (secret.type === "oauth" || config.auth === "oauth") return { authorization: `Bearer ${secret.token}` };
  return { authorization: secret.token };
}

function isLoopback(hostname: string): boolean {
  return ["127.0.0.1", "localhost", "[::1]"].includes(hostname);
}

/**
 * linear.app (with or without a workspace path) calls api.linear.app; a loopback site is a fake
 * or proxy that serves `/graphql` itself. Anything else needs `--api-url`.
 */
export function linearDefaultApiUrl(site: string): string | undefined {
  let u: URL;
  try {
    u = new URL(site);
  } catch {
    return undefined;
  }
  if (u.hostname === "linear.app" || u.hostname.endsWith(".linear.app")) return LINEAR_API;
  if (isLoopback(u.hostname)) return site.replace(/\/+$/, "");
  return undefined;
}

/** API calls go to `{base}/graphql`. */
export function linearApiBaseUrl(config: ConnectionConfig): string {
  return (config.api_url ?? linearDefaultApiUrl(config.site) ?? config.site).replace(/\/+$/, "");
}

/**
 * A team key is the prefix of the team's issue identifiers (`ENG` in `ENG-123`): letters and
 * digits, stored uppercase as Linear shows it.
 */
export function normaliseTeamKey(value: string): string {
  const key = value.trim().toUpperCase();
  if (/^[A-Z0-9_]+-\d+$/.test(key)) {
    throw new UsageError(`"${value}" is an issue identifier, not a team key`, { hint: `use the part before the dash: --project ${key.replace(/-\d+$/, "")}` });
  }
  if (!/^[A-Z0-9][A-Z0-9_]{0,9}$/.test(key)) {
    throw new UsageError(`"${value}" is not a Linear team key (letters and digits, e.g. ENG)`, {
      hint: "a team's key is the prefix of its issue identifiers (ENG in ENG-123)",
    });
  }
  return key;
}
