// Builds the HTTP client for a connection: base URL and auth headers from its provider module.
// Used by commands (main thread) and by the pull worker.

import type { Dispatcher } from "undici";
import type { Secret } from "../auth/credentials.js";
import type { ConnectionConfig } from "../config.js";
import { HttpClient, HTTP_DEFAULTS } from "../http/client.js";
import type { UsageRecorder } from "../http/usage.js";
import { providerModule } from "./registry.js";

export interface HttpSettings {
  timeoutMs: number;
  maxRetries: number;
  maxRetryWaitMs: number;
}

export function loginHint(name: string, conn: Pick<ConnectionConfig, "provider" | "site" | "email" | "auth">): string {
  const parts = [`pmsync login ${conn.provider}`];
  if (conn.auth === "oauth") parts.push("--oauth");
  if (name !== conn.provider) parts.push(`--name ${name}`);
  if (conn.site) parts.push(`--site ${conn.site}`);
  if (conn.email && conn.auth !== "oauth") parts.push(`--email ${conn.email}`);
  return parts.join(" ");
}

export function connectionHttp(args: {
  name: string;
  conn: ConnectionConfig;
  secret: Secret;
  usage: UsageRecorder;
  settings?: Partial<HttpSettings>;
  dispatcher?: Dispatcher;
  log?: (line: string) => void;
}): HttpClient {
  const mod = providerModule(args.conn.provider);
  const headers = mod.authHeaders(args.secret, args.conn);
  const s = args.settings ?? {};
  return new HttpClient({
    baseUrl: mod.apiBaseUrl(args.conn),
    headers: () => headers,
    usage: args.usage,
    loginHint: loginHint(args.name, args.conn),
    ...(args.dispatcher ? { dispatcher: args.dispatcher } : {}),
    ...(args.log ? { log: args.log } : {}),
    timeoutMs: s.timeoutMs ?? HTTP_DEFAULTS.timeoutMs,
    maxRetries: s.maxRetries ?? HTTP_DEFAULTS.maxRetries,
    maxRetryWaitMs: s.maxRetryWaitMs ?? HTTP_DEFAULTS.maxRetryWaitMs,
    ...(mod.classifyResponse ? { classify: mod.classifyResponse } : {}),
    secrets: [args.secret.token, args.secret.refresh_token ?? "", ...Object.values(headers)].filter(Boolean),
  });
}
