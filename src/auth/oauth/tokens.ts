// Token endpoint calls (RFC 6749 §4.1.3 and §6). They go through HttpClient, so they count in
// usage, retry on 5xx and never log a body. A rejected grant becomes an AuthError (exit 4).

import { AuthError, RemoteError } from "../../errors.js";
import type { HttpClient } from "../../http/client.js";
import type { Secret } from "../credentials.js";

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
  scope?: string;
  token_type?: string;
}

export async function tokenRequest(
  http: HttpClient,
  tokenUrl: string,
  body: Record<string, string>,
  loginHint: string,
  format: "json" | "form" = "json",
): Promise<TokenResponse> {
  try {
    const res = await http.json<TokenResponse>({ method: "POST", path: tokenUrl, ...(format === "form" ? { form: body } : { body }), endpoint: "oauth_token" });
    const err = (res.data as { error?: unknown; error_description?: unknown } | undefined)?.error;
    if (typeof err === "string") {
      // GitHub answers a refused grant with HTTP 200 and an `error` member.
      const why = (res.data as { error_description?: unknown }).error_description;
      throw new AuthError(`the OAuth server refused: ${err}${typeof why === "string" ? ` (${why})` : ""}`, { hint: `run \`${loginHint}\`` });
    }
    if (!res.data || typeof res.data.access_token !== "string") throw new RemoteError(`${tokenUrl} answered without an access token`);
    return res.data;
  } catch (err) {
    if (err instanceof RemoteError && err.status !== undefined && err.status >= 400 && err.status < 500) {
      throw new AuthError(`the OAuth server rejected the request: ${err.message}`, { hint: `run \`${loginHint}\`` });
    }
    throw err;
  }
}

export function secretFromTokens(t: TokenResponse, clientSecret: string | undefined, now = Date.now()): Secret {
  const s: Secret = { type: "oauth", token: t.access_token };
  if (t.refresh_token) s.refresh_token = t.refresh_token;
  if (typeof t.expires_in === "number") s.expires_at = new Date(now + t.expires_in * 1000).toISOString();
  if (clientSecret) s.client_secret = clientSecret;
  return s;
}
