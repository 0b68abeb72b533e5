// How Redmine requests are authenticated, where they go, and what a project identifier looks like.

import type { Secret } from "../../auth/credentials.js";
import type { ConnectionConfig } from "../../config.js";
import { UsageError } from "../../errors.js";

/**
 * The API key in Redmine's own header (not the `key` query parameter: URLs end up in logs).
 * NB: Redmine treats a wrong key as *anonymous* on pages anonymous users may see (the issue list
 * of a public project answers 200), so only `/users/current.json` proves a key (401 when wrong).
 */
export function redmineAuthHeaders(secret: Secret, _config: ConnectionConfig): Record<string, string> {
  return { "x-redmine-api-key": secret.token };
}

/** The REST API lives at the site itself (also under a sub-path such as https://host/redmine). */
export function redmineApiBaseUrl(config: ConnectionConfig): string {
  return (config.api_url ?? config.site).replace(/\/+$/, "");
}

// Redmine's Project::IDENTIFIER_MAX_LENGTH and its format rule: lowercase letters, digits,
// dashes and underscores, and not digits only (a number would be read as a project id).
const IDENTIFIER = /^[a-z0-9_-]{1,100}$/;

export function normaliseRedmineProject(value: string): string {
  const v = value.trim().toLowerCase();
  if (!IDENTIFIER.test(v) || /^\d+$/.test(v)) {
    throw new UsageError(`"${value}" is not a Redmine project identifier`, {
      hint: "use the identifier from the project's URL (/projects/<identifier>): lowercase letters, digits, dashes and underscores, e.g. my-project",
    });
  }
  return v;
}
