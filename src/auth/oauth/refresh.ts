// Access tokens are refreshed ahead of expiry. A rotated refresh token is written to the secret
// store BEFORE the new access token is used: Atlassian revokes the whole token family when an
// old refresh token is presented again (PROVIDERS.md §1.1, ANCHORS §2 item 6).

import type { ConnectionConfig } from "../../config.js";
import { HttpClient } from "../../http/client.js";
import type { UsageRecorder } from "../../http/usage.js";
import type { Secret } from "../credentials.js";
import { secretFromTokens, tokenRequest } from "./tokens.js";

/** Refresh when the access token has less than this left. */
export const REFRESH_AHEAD_MS = 5 * 60_000;

export function needsRefresh(secret: Secret, now = Date.now()): boolean {
  if (secret.type !== "oauth" || !secret.refresh_token || !secret.expires_at) return false;
  return Date.parse(secret.expires_at) - now < REFRESH_AHEAD_MS;
}

export async function refreshSecret(args: {
  name: string;
  conn: ConnectionConfig;
  secret: Secret;
  usage: UsageRecorder;
  loginHint: string;
  log?: (line: string) => void;
  /** Persists the new secret; awaited before the secret is returned for use. */
  save: (secret: Secret) => Promise<void>;
}): Promise<Secret> {
  const { conn, secret } = args;
  const oauth = conn.oauth;
  if (!oauth || !secret.refresh_token) return secret;
  const http = new HttpClient({
    baseUrl: oauth.token_url,
    headers: () => ({}),
    usage: args.usage,
    loginHint: args.loginHint,
    secrets: [secret.token, secret.refresh_token, secret.client_secret ?? ""].filter(Boolean),
    ...(args.log ? { log: args.log } : {}),
  });
  const tokens = await tokenRequest(
    http,
    oauth.token_url,
    {
      grant_type: "refresh_token",
      client_id: oauth.client_id,
      ...(secret.client_secret ? { client_secret: secret.client_secret } : {}),
      refresh_token: secret.refresh_token,
    },
    args.loginHint,
    oauth.token_body ?? "json",
  );
  const next = secretFromTokens(tokens, secret.client_secret);
  next.refresh_token ??= secret.refresh_token;
  await args.save(next);
  return next;
}
