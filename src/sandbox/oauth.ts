// Atlassian OAuth 2.0 (3LO) authorization server, as far as a CLI meets it:
// - GET /authorize: validates the client and the loopback redirect, records the PKCE challenge,
//   and (auto-approve) redirects back with a single-use code valid for 10 minutes;
// - POST /oauth/token: authorization_code (client secret required: 3LO apps are confidential
//   clients; code_verifier checked when a challenge was sent) and refresh_token with rotation.
//   Reusing a rotated refresh token revokes its whole family (every token of that grant).
// Error bodies are `{error, error_description}` with the statuses auth.atlassian.com uses.

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export interface OAuthConfig {
  clientId: string;
  clientSecret: string;
  autoApprove: boolean;
  /** When set, the one registered callback URL (exact match, like Atlassian's console). */
  redirectUri?: string;
}

export const ACCESS_TTL_S = 3600;
const CODE_TTL_MS = 10 * 60_000;
const REFRESH_INACTIVITY_MS = 90 * 86_400_000;
const REFRESH_ABSOLUTE_MS = 365 * 86_400_000;

interface CodeEntry {
  clientId: string;
  redirectUri: string;
  scope: string;
  challenge?: string;
  method?: string;
  expiresAt: number;
  used: boolean;
  family?: string;
}

interface Family {
  id: string;
  scope: string;
  createdAt: number;
  revoked: boolean;
  current: string | null;
  access: Set<string>;
}

interface AccessEntry {
  family: string;
  expiresAt: number;
  scope: string;
}

interface RefreshEntry {
  family: string;
  issuedAt: number;
}

interface PendingConsent {
  params: URLSearchParams;
  expiresAt: number;
}

export interface OAuthReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function json(status: number, body: unknown): OAuthReply {
  return { status, headers: { "content-type": "application/json;charset=UTF-8", "cache-control": "no-store" }, body: JSON.stringify(body) };
}

function oauthError(status: number, error: string, description: string): OAuthReply {
  return json(status, { error, error_description: description });
}

function page(status: number, title: string, message: string): OAuthReply {
  const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return {
    status,
    headers: { "content-type": "text/html;charset=UTF-8" },
    body: `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1><p>${esc(message)}</p></body></html>`,
  };
}

function token(prefix: string): string {
  return prefix + randomBytes(32).toString("base64url");
}

function sameText(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

export class OAuthServer {
  private readonly codes = new Map<string, CodeEntry>();
  private readonly families = new Map<string, Family>();
  private readonly access = new Map<string, AccessEntry>();
  private readonly refresh = new Map<string, RefreshEntry>();
  private readonly pending = new Map<string, PendingConsent>();

  constructor(
    readonly config: OAuthConfig,
    private readonly now: () => number,
  ) {}

  // ------------------------------------------------------------------------------------------
  // /authorize

  authorize(params: URLSearchParams): OAuthReply {
    if (params.get("client_id") !== this.config.clientId) {
      return page(400, "Something went wrong", "The app you're trying to connect to (client_id) is not valid or no longer exists.");
    }
    const redirectUri = params.get("redirect_uri") ?? "";
    if (!this.redirectAllowed(redirectUri)) {
      return page(400, "Something went wrong", "The app's callback URL is invalid. Contact the app vendor.");
    }
    const fail = (error: string, description: string): OAuthReply => this.redirect(redirectUri, { error, error_description: description, state: params.get("state") });
    if (params.get("response_type") !== "code") return fail("unsupported_response_type", "response_type must be 'code'");
    if (params.get("audience") !== "api.atlassian.com") return fail("invalid_request", "audience must be 'api.atlassian.com'");
    const scope = (params.get("scope") ?? "").trim();
    if (!scope) return fail("invalid_scope", "scope is required");
    const challenge = params.get("code_challenge");
    const method = params.get("code_challenge_method") ?? (challenge ? "plain" : null);
    if (challenge !== null && method !== "S256" && method !== "plain") return fail("invalid_request", "code_challenge_method must be S256");
    if (!this.config.autoApprove) {
      const id = token("");
      this.pending.set(id, { params, expiresAt: this.now() + CODE_TTL_MS });
      return this.consentPage(id, scope);
    }
    return this.issueCode(params);
  }

  /** The consent page's buttons: `decision=allow|deny`. */
  consent(params: URLSearchParams): OAuthReply {
    const id = params.get("request") ?? "";
    const pending = this.pending.get(id);
    this.pending.delete(id);
    if (!pending || pending.expiresAt < this.now()) return page(400, "Something went wrong", "This authorization request has expired. Start again from the app.");
    if (params.get("decision") !== "allow") {
      return this.redirect(pending.params.get("redirect_uri") ?? "", { error: "access_denied", error_description: "User did not authorize the request", state: pending.params.get("state") });
    }
    return this.issueCode(pending.params);
  }

  private issueCode(params: URLSearchParams): OAuthReply {
    const code = token("");
    const entry: CodeEntry = {
      clientId: this.config.clientId,
      redirectUri: params.get("redirect_uri") ?? "",
      scope: (params.get("scope") ?? "").trim().split(/\s+/).join(" "),
      expiresAt: this.now() + CODE_TTL_MS,
      used: false,
    };
    const challenge = params.get("code_challenge");
    if (challenge) {
      entry.challenge = challenge;
      entry.method = params.get("code_challenge_method") ?? "plain";
    }
    this.codes.set(code, entry);
    return this.redirect(entry.redirectUri, { code, state: params.get("state") });
  }

  private redirectAllowed(uri: string): boolean {
    if (this.config.redirectUri !== undefined) return uri === this.config.redirectUri;
    let u: URL;
    try {
      u = new URL(uri);
    } catch {
      return false;
    }
    return u.protocol === "http:" && (u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "[::1]") && u.pathname === "/callback";
  }

  private redirect(uri: string, query: Record<string, string | null>): OAuthReply {
    const u = new URL(uri);
    for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined) u.searchParams.set(k, v);
    return { status: 302, headers: { location: u.toString(), "cache-control": "no-store" }, body: "" };
  }

  private consentPage(id: string, scope: string): OAuthReply {
    const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const scopes = scope.split(/\s+/).map((s) => `<li>${esc(s)}</li>`).join("");
    return {
      status: 200,
      headers: { "content-type": "text/html;charset=UTF-8" },
      body:
        `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Authorize pmsync sandbox</title></head><body>` +
        `<h1>pmsync is requesting access to your Atlassian account</h1><ul>${scopes}</ul>` +
        `<a id="accept" href="/authorize/consent?request=${id}&amp;decision=allow">Accept</a> ` +
        `<a id="deny" href="/authorize/consent?request=${id}&amp;decision=deny">Cancel</a></body></html>`,
    };
  }

  // ------------------------------------------------------------------------------------------
  // /oauth/token

  token(params: Record<string, string>, authorization: string | undefined): OAuthReply {
    let clientId = params["client_id"];
    let clientSecret = params["client_secret"];
    if (authorization?.startsWith("Basic ")) {
      const decoded = Buffer.from(authorization.slice(6), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon > 0) {
        clientId ??= decodeURIComponent(decoded.slice(0, colon));
        clientSecret ??= decodeURIComponent(decoded.slice(colon + 1));
      }
    }
    const grant = params["grant_type"];
    if (grant !== "authorization_code" && grant !== "refresh_token") {
      return oauthError(400, "unsupported_grant_type", `Unsupported grant type: ${grant ?? "(missing)"}`);
    }
    if (clientId !== this.config.clientId || clientSecret === undefined || !sameText(clientSecret, this.config.clientSecret)) {
      return oauthError(401, "access_denied", "Unauthorized");
    }
    return grant === "authorization_code" ? this.exchangeCode(params) : this.rotate(params);
  }

  private exchangeCode(params: Record<string, string>): OAuthReply {
    const code = params["code"];
    if (!code) return oauthError(400, "invalid_request", "code is required");
    const entry = this.codes.get(code);
    if (!entry || entry.expiresAt < this.now()) return oauthError(403, "invalid_grant", "Invalid authorization code");
    if (entry.used) {
      // A replayed code: revoke what it granted (RFC 6749 §4.1.2).
      if (entry.family) this.revokeFamily(entry.family);
      return oauthError(403, "invalid_grant", "Invalid authorization code");
    }
    if (params["redirect_uri"] !== entry.redirectUri) return oauthError(403, "invalid_grant", "redirect_uri does not match the one used in the authorization request");
    if (entry.challenge !== undefined) {
      const verifier = params["code_verifier"];
      if (!verifier) return oauthError(403, "invalid_grant", "code_verifier is required");
      const computed = entry.method === "S256" ? createHash("sha256").update(verifier).digest("base64url") : verifier;
      if (!sameText(computed, entry.challenge)) return oauthError(403, "invalid_grant", "code_verifier is invalid");
    }
    entry.used = true;
    const family: Family = { id: token("fam_"), scope: entry.scope, createdAt: this.now(), revoked: false, current: null, access: new Set() };
    this.families.set(family.id, family);
    entry.family = family.id;
    return json(200, this.grant(family));
  }

  private rotate(params: Record<string, string>): OAuthReply {
    const presented = params["refresh_token"];
    if (!presented) return oauthError(400, "invalid_request", "refresh_token is required");
    const invalid = (): OAuthReply => oauthError(403, "unauthorized_client", "refresh_token is invalid");
    const entry = this.refresh.get(presented);
    if (!entry) return invalid();
    const family = this.families.get(entry.family);
    if (!family || family.revoked) return invalid();
    if (family.current !== presented) {
      // Reuse of a rotated token: someone else may hold the family; revoke all of it.
      this.revokeFamily(family.id);
      return invalid();
    }
    const now = this.now();
    if (now - entry.issuedAt > REFRESH_INACTIVITY_MS || now - family.createdAt > REFRESH_ABSOLUTE_MS) {
      this.revokeFamily(family.id);
      return invalid();
    }
    return json(200, this.grant(family));
  }

  private grant(family: Family): Record<string, unknown> {
    const accessToken = token("sbx_at_");
    this.access.set(accessToken, { family: family.id, expiresAt: this.now() + ACCESS_TTL_S * 1000, scope: family.scope });
    family.access.add(accessToken);
    const out: Record<string, unknown> = { access_token: accessToken, expires_in: ACCESS_TTL_S, token_type: "Bearer" };
    // Atlassian issues a refresh token only when `offline_access` was granted.
    if (family.scope.split(" ").includes("offline_access")) {
      const refreshToken = token("sbx_rt_");
      this.refresh.set(refreshToken, { family: family.id, issuedAt: this.now() });
      family.current = refreshToken;
      out["refresh_token"] = refreshToken;
    }
    out["scope"] = family.scope;
    return out;
  }

  private revokeFamily(id: string): void {
    const family = this.families.get(id);
    if (!family) return;
    family.revoked = true;
    family.current = null;
    for (const a of family.access) this.access.delete(a);
    family.access.clear();
  }

  // ------------------------------------------------------------------------------------------
  // bearer checks

  /** The granted scopes for a live access token, or undefined (unknown, expired or revoked). */
  check(accessToken: string): string[] | undefined {
    const entry = this.access.get(accessToken);
    if (!entry || entry.expiresAt <= this.now()) return undefined;
    return entry.scope.split(" ").filter(Boolean);
  }

  expireAccessTokens(): void {
    for (const entry of this.access.values()) entry.expiresAt = 0;
  }
}
