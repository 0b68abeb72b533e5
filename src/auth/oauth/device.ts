// OAuth 2.0 Device Authorization Grant (RFC 8628), for machines without a browser: ask for a
// device code, show the person the user code and where to type it, then poll the token endpoint
// until they approve (or deny, or the code expires). Provider-neutral: GitHub answers these
// errors with HTTP 200 and `{"error": …}` (with `Accept: application/json`), RFC 6749 servers
// with HTTP 400; both are read the same way.

import { AuthError, RemoteError, UsageError } from "../../errors.js";
import type { HttpClient, JsonResponse } from "../../http/client.js";
import type { TokenResponse } from "./tokens.js";

export const DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code";
/** RFC 8628 §3.5: without an `interval`, poll every 5 seconds; `slow_down` adds 5. */
const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_S = 5;
/** Statuses that carry an OAuth error body (RFC 6749 §5.2; 428 is used by some servers). */
const ERROR_STATUSES = [400, 401, 403, 428] as const;

export interface DeviceFlowOptions {
  http: HttpClient;
  deviceCodeUrl: string;
  tokenUrl: string;
  clientId: string;
  /** Space-separated scopes; omitted when empty. */
  scope?: string;
  /** How the endpoints take parameters: RFC 8628 says form (the default); GitHub takes both. */
  tokenBody?: "form" | "json";
  /** What to run to start again, for error hints (e.g. `pmsync login github --device`). */
  loginHint?: string;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface DeviceFlow {
  userCode: string;
  verificationUri: string;
  /** The URI with the code filled in, when the server offers one (GitHub does not). */
  verificationUriComplete: string | null;
  /** Seconds the codes stay valid. */
  expiresIn: number;
  /** Seconds between polls, as the server asked. */
  interval: number;
  /** Polls until the person approves; resolves with the tokens, or rejects with a typed error. */
  poll(): Promise<TokenResponse>;
}

interface DeviceCodeAnswer {
  device_code?: unknown;
  user_code?: unknown;
  verification_uri?: unknown;
  verification_url?: unknown;
  verification_uri_complete?: unknown;
  expires_in?: unknown;
  interval?: unknown;
}

interface OAuthErrorBody {
  error?: unknown;
  error_description?: unknown;
  interval?: unknown;
}

/** The JSON body of an answer, also for error statuses (null when there is none). */
function bodyOf<T>(res: JsonResponse<unknown>): (T & OAuthErrorBody) | null {
  const d = res.data;
  return d !== null && typeof d === "object" && !Array.isArray(d) ? (d as T & OAuthErrorBody) : null;
}

function describe(b: OAuthErrorBody): string {
  const code = String(b.error);
  return typeof b.error_description === "string" && b.error_description ? `${code}: ${b.error_description}` : code;
}

/** An OAuth error other than the polling ones, as the error a person can act on. */
function refusal(b: OAuthErrorBody, hint: string): Error {
  switch (b.error) {
    case "expired_token":
      return new AuthError("the code expired; run login again", { hint });
    case "access_denied":
      return new AuthError("you denied access", { hint });
    case "device_flow_disabled":
      return new UsageError("the OAuth app does not allow the device flow", { hint: "enable \"Device Flow\" in the app's settings, or log in with a browser or a token" });
    case "incorrect_client_credentials":
    case "invalid_client":
    case "unauthorized_client":
      return new UsageError(`the OAuth server does not accept this client id (${describe(b)})`, { hint: "check --client-id" });
    default:
      return new AuthError(`the OAuth server refused the device login (${describe(b)})`, { hint });
  }
}

async function post(opts: DeviceFlowOptions, url: string, params: Record<string, string>, endpoint: string): Promise<JsonResponse<unknown>> {
  const body = opts.tokenBody === "json" ? { body: params } : { form: params };
  // Accept: JSON, or GitHub answers form-encoded.
  return opts.http.json<unknown>({ method: "POST", path: url, ...body, endpoint, headers: { accept: "application/json" }, accept: ERROR_STATUSES });
}

function unreadable(url: string, res: JsonResponse<unknown>): RemoteError {
  return new RemoteError(`${url} answered HTTP ${res.status} without a readable OAuth answer`, { status: res.status });
}

export async function startDeviceFlow(opts: DeviceFlowOptions): Promise<DeviceFlow> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? Date.now;
  const hint = opts.loginHint ? `run \`${opts.loginHint}\`` : "run login again";
  const request: Record<string, string> = { client_id: opts.clientId };
  if (opts.scope) request.scope = opts.scope;

  const res = await post(opts, opts.deviceCodeUrl, request, "oauth_device_code");
  const answer = bodyOf<DeviceCodeAnswer>(res);
  if (!answer) throw unreadable(opts.deviceCodeUrl, res);
  if (answer.error !== undefined) throw refusal(answer, hint);
  const verificationUri = answer.verification_uri ?? answer.verification_url; // some servers use the draft's name
  if (typeof answer.device_code !== "string" || typeof answer.user_code !== "string" || typeof verificationUri !== "string") {
    throw new RemoteError(`${opts.deviceCodeUrl} answered without a device code, user code or verification URI`);
  }
  const deviceCode = answer.device_code;
  const expiresIn = typeof answer.expires_in === "number" && answer.expires_in > 0 ? answer.expires_in : 900;
  const interval = typeof answer.interval === "number" && answer.interval >= 0 ? answer.interval : DEFAULT_INTERVAL_S;
  const deadline = now() + expiresIn * 1000;

  const poll = async (): Promise<TokenResponse> => {
    let wait = interval;
    for (;;) {
      await sleep(wait * 1000);
      if (now() >= deadline) throw refusal({ error: "expired_token" }, hint);
      const res = await post(opts, opts.tokenUrl, { client_id: opts.clientId, device_code: deviceCode, grant_type: DEVICE_GRANT_TYPE }, "oauth_token");
      const b = bodyOf<TokenResponse>(res);
      if (!b) throw unreadable(opts.tokenUrl, res);
      if (b.error === undefined) {
        if (typeof b.access_token !== "string" || !b.access_token) throw new RemoteError(`${opts.tokenUrl} answered without an access token`);
        return b;
      }
      if (b.error === "authorization_pending") continue;
      if (b.error === "slow_down") {
        // RFC 8628 §3.5: five seconds more from now on; GitHub also says the new interval.
        wait = Math.max(wait + SLOW_DOWN_S, typeof b.interval === "number" ? b.interval : 0);
        continue;
      }
      throw refusal(b, hint);
    }
  };

  return {
    userCode: answer.user_code,
    verificationUri,
    verificationUriComplete: typeof answer.verification_uri_complete === "string" ? answer.verification_uri_complete : null,
    expiresIn,
    interval,
    poll,
  };
}
