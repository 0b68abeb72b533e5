// How GitHub requests are authenticated and where they go: a token (PAT or OAuth) as a bearer
// token, on api.github.com, a GitHub Enterprise Server's `/api/v3`, or a data-residency host's
// `api.` subdomain. (The media type and API version headers are sent by client.ts: they are not
// secrets, and everything authHeaders returns is redacted from logs.)

import type { ConnectionConfig } from "../../config.js";
import type { Secret } from "../../auth/credentials.js";
import { UsageError } from "../../errors.js";

export function githubAuthHeaders(secret: Secret, _config: ConnectionConfig): Record<string, string> {
  return { authorization: `Bearer ${secret.token}` };
}

export function githubApiBaseUrl(config: ConnectionConfig): string {
  return (config.api_url ?? config.site).replace(/\/+$/, "");
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * The API base for a site a person knows: github.com → api.github.com; a data-residency
 * `<name>.ghe.com` → `api.<name>.ghe.com`; a loopback site (a local fake) serves the API at its
 * root; any other host is GitHub Enterprise Server, whose REST API lives under `/api/v3`.
 */
export function githubDefaultApiUrl(site: string): string | undefined {
  let u: URL;
  try {
    u = new URL(site);
  } catch {
    return undefined;
  }
  const host = u.hostname.toLowerCase();
  if (host === "github.com" || host === "www.github.com") return "https://api.github.com";
  if (host.endsWith(".ghe.com") && !host.startsWith("api.")) return `https://api.${host}`;
  if (LOOPBACK.has(host)) return site.replace(/\/+$/, "");
  return `${site.replace(/\/+$/, "")}/api/v3`;
}

/** The OAuth endpoints live on the web host (github.com, or the Enterprise host), not the API host. */
export function githubOAuthUrls(site: string): { authorizeUrl: string; tokenUrl: string; deviceCodeUrl: string } {
  const base = site.replace(/\/+$/, "");
  return {
    authorizeUrl: `${base}/login/oauth/authorize`,
    tokenUrl: `${base}/login/oauth/access_token`,
    deviceCodeUrl: `${base}/login/device/code`,
  };
}

// GitHub: owner names are alphanumerics and single hyphens; repository names add `.` and `_`.
const REPO = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))\/([A-Za-z0-9._-]{1,100})$/;

/** Checks a `--repo`/`--project` value: `owner/name`. */
export function normaliseRepo(value: string): string {
  const v = value.trim().replace(/\.git$/, "");
  const m = REPO.exec(v);
  if (!m || m[2] === "." || m[2] === "..") {
    throw new UsageError(`"${value}" is not a GitHub repository; write it as owner/name (e.g. octocat/hello-world)`, {
      hint: "use --repo owner/name for one repository, or --owner <org or user> for all of an owner's repositories",
    });
  }
  return `${m[1]}/${m[2]}`;
}

export interface IssueRef {
  repo: string;
  number: number;
}

/** `owner/name#123` → its parts; a UsageError for anything else. */
export function parseIssueKey(key: string): IssueRef {
  const m = /^(.+)#(\d+)$/.exec(key.trim());
  if (!m) throw new UsageError(`"${key}" is not a GitHub issue key (owner/name#123)`);
  return { repo: normaliseRepo(m[1]!), number: Number(m[2]) };
}
