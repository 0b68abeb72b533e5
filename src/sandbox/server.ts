// The sandbox HTTP server: Jira Cloud REST v3 (site URL and the /ex/jira/{cloudId} gateway),
// Atlassian OAuth 3LO, fault injection, rate-limit headers, request statistics, and the
// /_sandbox control endpoints.

import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { FIELD_BY_ID, FIELDS, fieldCatalogJson, projectDefs, SiteCatalog, USERS, type ProjectDef } from "./catalog.js";
import { Dataset, FieldSelection, type IssueEdit } from "./dataset.js";
import { JqlError } from "./jql.js";
import { OAuthServer } from "./oauth.js";
import { RenderCache, type RenderTable } from "./render-cache.js";
import { BadRequest, SearchEngine } from "./search.js";
import { ZoneClock } from "./time.js";
import {
  editMetaJson,
  INVALID_PAYLOAD,
  matchUsers,
  parseEdit,
  parseTransition,
  transitionsJson,
  userSearchJson,
  type EditContext,
  type JiraErrors,
} from "./writes.js";
import type { FaultEndpoint, FaultKind, FaultSpec, JiraIssueJson, KeySelection, SandboxControl, SandboxHandle, SandboxOptions, SandboxStats } from "./types.js";

const JSON_TYPE = "application/json;charset=UTF-8";
const NOT_AUTHENTICATED = "Client must be authenticated to access this resource.";
const ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it.";
const SEARCH_REMOVED =
  "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046";
const FAULT_KINDS: readonly FaultKind[] = ["429", "503", "500", "malformed", "garbled", "truncated", "html", "hang", "reset"];
const FAULT_ENDPOINTS: readonly FaultEndpoint[] = ["search", "myself", "field", "issue", "project", "serverInfo", "token", "resources", "any"];
const MAX_BODY = 1_048_576;

/**
 * What `warmRenderCache()` renders when given no fields and no search has asked for any yet:
 * the fields pmsync requests (its SYSTEM_FIELDS, then every custom field of the site's catalog
 * in catalog order), so the cache key is the one pmsync's searches produce.
 */
export const PMSYNC_SEARCH_FIELDS: readonly string[] = [
  "summary", "description", "issuetype", "status", "priority", "assignee", "reporter",
  "labels", "parent", "duedate", "created", "updated", "resolution", "resolutiondate", "project",
  "components", "fixVersions", "versions", "environment", "timetracking", "lastViewed",
  ...FIELDS.filter((f) => f.custom).map((f) => f.id),
];

interface Reply {
  status: number;
  headers: Record<string, string>;
  /** Chunks (Buffer[]) are written one by one (writev), never joined. */
  body: string | Buffer | Buffer[];
}

const ISSUES_OPEN = Buffer.from('{"issues":[');

interface QueuedFault {
  kind: FaultKind;
  endpoint: FaultEndpoint;
  remaining: number;
  /** Matching requests still to let through before the fault applies. */
  skip: number;
  retryAfter?: number;
}

function jsonReply(status: number, body: unknown): Reply {
  return { status, headers: { "content-type": JSON_TYPE }, body: typeof body === "string" ? body : JSON.stringify(body) };
}

function errorReply(status: number, ...messages: string[]): Reply {
  return jsonReply(status, { errorMessages: messages, errors: {} });
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

function cloudIdFor(seed: number): string {
  const h = createHash("sha256").update(`pmsync-sandbox-cloud:${seed}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Endpoint class of an API path (already stripped of the /ex/jira/{cloudId} prefix). */
function classify(path: string): string {
  if (path === "/oauth/token") return "token";
  if (path === "/oauth/token/accessible-resources") return "resources";
  const m = /^\/rest\/api\/[23]\/(.*)$/.exec(path);
  if (!m) return "other";
  const rest = m[1] ?? "";
  if (rest === "search/jql") return "search";
  if (rest === "search/approximate-count") return "count";
  if (rest === "myself") return "myself";
  if (rest === "field") return "field";
  if (rest === "serverInfo") return "serverInfo";
  if (rest === "project/search" || rest === "project") return "project";
  // Reads and writes of one issue (its transitions and edit screen too).
  if (/^issue\/[^/]+(\/(transitions|editmeta))?$/.test(rest)) return "issue";
  if (rest.startsWith("user/")) return "user";
  if (rest === "priority" || rest === "priority/search") return "priority";
  return "other";
}

class Sandbox {
  readonly url: string;
  readonly cloudId: string;
  readonly email: string;
  readonly apiToken: string;
  readonly zone: ZoneClock;
  readonly ds: Dataset;
  readonly search: SearchEngine;
  readonly oauth: OAuthServer;
  private readonly site: SiteCatalog;
  private readonly gateway: SiteCatalog;
  private readonly projects: ProjectDef[];
  private readonly now: () => number;
  /** The instant of a mutation: `now`, or with `clock`, the clock after one step forward. */
  private readonly tick: () => number;
  private readonly latencyMs: number;
  private faults: QueuedFault[] = [];
  private stats: SandboxStats = { requests: 0, byEndpoint: {}, searchRequests: 0 };
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly bucket: { capacity: number; refill: number; tokens: number; at: number };
  private readonly fieldJson: string;
  /** Present when `renderCache` is on. */
  readonly renderCache: RenderCache | undefined;
  /** The `fields` of the last search that returned more than ids, and where it was asked. */
  private lastSearch: { fields: string[] | undefined; cat: SiteCatalog } | undefined;
  private closed = false;

  constructor(
    opts: SandboxOptions,
    readonly server: Server,
    port: number,
  ) {
    if (opts.clock) {
      const { startMs, stepMs } = opts.clock;
      if (!Number.isFinite(startMs) || !Number.isFinite(stepMs) || stepMs < 0) throw new RangeError("clock: startMs and a non-negative stepMs are required");
      let t = startMs;
      this.now = () => t;
      this.tick = () => (t += stepMs);
    } else {
      this.now = opts.now ?? Date.now;
      this.tick = this.now;
    }
    this.url = `http://127.0.0.1:${port}`;
    const seed = opts.seed ?? 1;
    this.cloudId = cloudIdFor(seed);
    this.email = opts.email ?? "demo@example.com";
    this.apiToken = opts.apiToken ?? randomBytes(18).toString("base64url");
    this.zone = new ZoneClock(opts.timeZone ?? "America/Los_Angeles");
    this.latencyMs = Math.max(0, opts.latencyMs ?? 0);
    this.projects = projectDefs((opts.projects ?? ["ENG", "OPS", "WEB"]).map((k) => k.toUpperCase()));
    if (this.projects.length === 0 || this.projects.length > 200) throw new RangeError("projects: give between 1 and 200 project keys");
    for (const p of this.projects) if (!/^[A-Z][A-Z0-9_]{0,9}$/.test(p.key)) throw new RangeError(`projects: '${p.key}' is not a valid Jira project key`);
    const issues = Math.max(0, Math.floor(opts.issues ?? 500));
    const start = this.now();
    const accountIds = new SiteCatalog(this.url, this.projects, this.zone.timeZone, []).accountIds;
    this.ds = new Dataset({ issues, projects: this.projects, seed, startMs: start }, accountIds);
    this.site = new SiteCatalog(this.url, this.projects, this.zone.timeZone, this.ds.versionDates);
    this.gateway = new SiteCatalog(`${this.url}/ex/jira/${this.cloudId}`, this.projects, this.zone.timeZone, this.ds.versionDates);
    this.search = new SearchEngine(this.ds);
    const o = opts.oauth;
    this.oauth = new OAuthServer(
      {
        clientId: o?.clientId ?? "sandbox-client",
        clientSecret: o?.clientSecret ?? "sandbox-secret",
        autoApprove: o?.autoApprove ?? true,
        ...(o?.redirectUri !== undefined ? { redirectUri: o.redirectUri } : {}),
      },
      this.now,
    );
    const rl = opts.rateLimit ?? { capacity: 100_000, refillPerSecond: 100_000 };
    this.bucket = { capacity: rl.capacity, refill: rl.refillPerSecond, tokens: rl.capacity, at: start };
    this.fieldJson = JSON.stringify(fieldCatalogJson());
    this.renderCache = opts.renderCache ? new RenderCache(this.ds, this.zone) : undefined;
  }

  // ------------------------------------------------------------------------------------------
  // control

  readonly control: SandboxControl = {
    touch: (sel) => this.select(sel).map((i) => (this.ds.touch(i, this.tick()), this.ds.keyOf(i))),
    touchVolatile: (sel) => this.select(sel).map((i) => (this.ds.touchVolatile(i, this.tick()), this.ds.keyOf(i))),
    remove: (sel) =>
      this.select(sel, true).flatMap((i) =>
        this.ds.remove(i).map((j) => {
          this.renderCache?.drop(j);
          return this.ds.keyOf(j);
        }),
      ),
    create: ({ count, project }) => {
      let p: number | undefined;
      if (project !== undefined) {
        p = this.ds.projectOfKey(project);
        if (p === undefined) throw new RangeError(`create: unknown project '${project}'`);
      }
      const out: string[] = [];
      for (let k = 0; k < Math.max(0, Math.floor(count)); k++) out.push(this.ds.keyOf(this.ds.create(p, this.tick())));
      return out;
    },
    populate: ({ count, projects }) => {
      const ps = (projects ?? []).map((k) => {
        const p = this.ds.projectOfKey(k);
        if (p === undefined) throw new RangeError(`populate: unknown project '${k}'`);
        return p;
      });
      if (!Number.isInteger(count) || count < 0) throw new RangeError("populate: count must be a non-negative integer");
      return this.ds.populate(count, ps).map((i) => this.ds.keyOf(i));
    },
    edit: (key, body, atMs) => {
      const i = this.ds.lookup(key);
      if (!this.ds.isLive(i)) throw new RangeError(`edit: no issue '${key}'`);
      if (atMs !== undefined && !Number.isFinite(atMs)) throw new RangeError("edit: atMs must be a finite number");
      const parsed = parseEdit(isPlainObject(body) && ("fields" in body || "update" in body) ? body : { fields: body }, this.ds.state(i), this.editContext(i));
      if ("error" in parsed) throw new RangeError(`edit: ${describeErrors(parsed.error)}`);
      return this.applyEdit(i, parsed.edit, atMs);
    },
    maxUpdatedMs: () => this.ds.maxUpdatedMs(),
    setIssueUpdated: (key, epochMs) => {
      const i = this.ds.lookup(key);
      if (!this.ds.isLive(i)) throw new RangeError(`setIssueUpdated: no issue '${key}'`);
      if (!Number.isFinite(epochMs)) throw new RangeError("setIssueUpdated: epochMs must be a finite number");
      this.ds.setUpdatedMs(i, Math.floor(epochMs));
    },
    fault: (spec) => {
      this.faults.push(validateFault(spec));
    },
    clearFaults: () => {
      this.faults = [];
    },
    stats: () => {
      const out: SandboxStats = { requests: this.stats.requests, byEndpoint: { ...this.stats.byEndpoint }, searchRequests: this.stats.searchRequests };
      if (this.renderCache) out.renderCache = this.renderCache.stats();
      return out;
    },
    resetStats: () => {
      this.stats = { requests: 0, byEndpoint: {}, searchRequests: 0 };
      if (this.renderCache) this.renderCache.hits = this.renderCache.misses = 0;
    },
    issueCount: () => this.ds.live,
    getIssue: (key) => {
      const i = this.ds.lookup(key);
      if (!this.ds.isLive(i)) return null;
      return this.ds.render(i, this.site, new FieldSelection(undefined, "*all"), this.zone) as JiraIssueJson;
    },
    expireAccessTokens: () => this.oauth.expireAccessTokens(),
    warmRenderCache: (fields) => {
      const cache = this.renderCache;
      if (!cache) throw new RangeError("warmRenderCache: the sandbox was started without renderCache");
      if (fields !== undefined && (!Array.isArray(fields) || fields.some((f) => typeof f !== "string"))) throw new TypeError("warmRenderCache: fields must be an array of field ids");
      const t0 = performance.now();
      // Default: what the last search asked for (where it asked), else pmsync's field set.
      const last = this.lastSearch;
      const useLast = (fields === undefined || fields.length === 0) && last !== undefined;
      const wanted = useLast ? last.fields : fields !== undefined && fields.length > 0 ? fields : [...PMSYNC_SEARCH_FIELDS];
      const table = cache.table(useLast ? last.cat : this.site, new FieldSelection(wanted, "id"));
      let issues = 0;
      if (table) {
        for (let i = 0; i < this.ds.size; i++) {
          if (!this.ds.isLive(i)) continue;
          cache.get(table, i);
          issues++;
        }
      } else issues = this.ds.live; // id-only: nothing worth caching, served as fast as cached
      return { issues, ms: Math.round((performance.now() - t0) * 10) / 10, bytes: cache.bytes };
    },
  };

  private select(sel: KeySelection | undefined, leavesOnly = false): number[] {
    if (sel?.keys !== undefined) {
      if (!Array.isArray(sel.keys)) throw new TypeError("keys must be an array of issue keys");
      return this.ds.resolveLive(sel.keys.map(String));
    }
    return this.ds.pickLive(sel?.count ?? 1, leavesOnly);
  }

  // ------------------------------------------------------------------------------------------
  // HTTP entry

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    let path = url.pathname;

    if (path.startsWith("/_sandbox/") || path === "/_sandbox") {
      const body = await readBody(req);
      if (!isLoopback(req.socket.remoteAddress)) return this.send(res, errorReply(403, "Control endpoints answer loopback clients only."));
      return this.send(res, this.controlRoute(req.method ?? "GET", path, body));
    }
    if (path === "/authorize" && (req.method === "GET" || req.method === "HEAD")) return this.send(res, this.oauth.authorize(url.searchParams));
    if (path === "/authorize/consent") return this.send(res, this.oauth.consent(url.searchParams));

    let gateway = false;
    const gw = /^\/ex\/jira\/([^/]+)(\/rest\/.*)$/.exec(path);
    if (gw) {
      gateway = true;
      path = gw[2] ?? "/";
    }
    const isApi = gateway || path.startsWith("/rest/") || path.startsWith("/oauth/");
    if (!isApi) return this.send(res, { status: 404, headers: { "content-type": "text/html;charset=UTF-8" }, body: "<!DOCTYPE html><html><body><h1>Page not found</h1></body></html>" });

    const endpoint = classify(path);
    this.stats.requests++;
    this.stats.byEndpoint[endpoint] = (this.stats.byEndpoint[endpoint] ?? 0) + 1;
    if (endpoint === "search") this.stats.searchRequests++;
    // Writes counted apart too ("issue PUT", "issue POST"): tests check that none is repeated.
    if (endpoint === "issue" && req.method !== "GET") {
      const k = `issue ${req.method}`;
      this.stats.byEndpoint[k] = (this.stats.byEndpoint[k] ?? 0) + 1;
    }

    const body = await readBody(req);
    if (this.latencyMs > 0 && !path.startsWith("/oauth/")) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.timers.delete(t);
          resolve();
        }, this.latencyMs);
        this.timers.add(t);
      });
      if (this.closed) return;
    }

    const fault = this.takeFault(endpoint);
    if (fault) {
      const handled = this.applyFault(fault, req, res);
      if (handled) return;
    }

    const isOAuth = path.startsWith("/oauth/");
    const limited = isOAuth ? undefined : this.rateLimit();
    if (limited) return this.send(res, limited);

    if (gateway && gw?.[1] !== this.cloudId) return this.send(res, errorReply(404, "Site temporarily unavailable"));

    let reply: Reply;
    try {
      reply = isOAuth ? this.oauthRoute(req, path, body) : this.apiRoute(req, url, path, body, gateway);
    } catch (err) {
      reply = errorReply(500, "Internal server error");
      reply.headers["x-sandbox-error"] = String(err instanceof Error ? err.message : err).replace(/[^\x20-\x7e]/g, "?").slice(0, 200);
    }
    if (!isOAuth) Object.assign(reply.headers, this.rateHeaders());
    this.send(res, reply, fault?.kind === "truncated" || fault?.kind === "garbled" ? fault.kind : undefined);
  }

  private send(res: ServerResponse, reply: Reply, damage?: "truncated" | "garbled"): void {
    if (res.destroyed || this.closed) return;
    const body = reply.body;
    const truncate = damage === "truncated";
    if (Array.isArray(body) && !damage) {
      // Cached issue buffers go to the socket as they are (one writev), not copied into a page.
      let length = 0;
      for (const c of body) length += c.length;
      res.writeHead(reply.status, this.replyHeaders(reply, length));
      res.cork(); // end() uncorks: one writev for the whole reply
      for (const c of body) res.write(c);
      res.end();
      return;
    }
    let buf = typeof body === "string" ? Buffer.from(body, "utf8") : Array.isArray(body) ? Buffer.concat(body) : body;
    if (damage === "garbled") {
      // Whole and well-framed, but a NUL byte in the middle: only a full parse notices.
      buf = Buffer.from(buf);
      buf[buf.length >> 1] = 0;
    }
    res.writeHead(reply.status, this.replyHeaders(reply, buf.length));
    if (truncate) {
      // Promise more than is sent, then cut the connection mid-body.
      const cut = Math.max(1, Math.floor(buf.length / 2));
      res.write(buf.subarray(0, Math.min(cut, buf.length - 1 > 0 ? buf.length - 1 : 0)), () => {
        res.socket?.destroy();
      });
      return;
    }
    res.end(buf);
  }

  private replyHeaders(reply: Reply, length: number): Record<string, string | number> {
    const headers: Record<string, string | number> = {
      ...reply.headers,
      "x-arequestid": randomBytes(8).toString("hex"),
      "x-content-type-options": "nosniff",
      "content-length": length,
      // The server's own clock (options.now), so clients can measure clock skew against it.
      date: new Date(this.now()).toUTCString(),
    };
    if (!("cache-control" in reply.headers)) headers["cache-control"] = "no-cache, no-store, no-transform";
    return headers;
  }

  // ------------------------------------------------------------------------------------------
  // faults and limits

  private takeFault(endpoint: string): QueuedFault | undefined {
    const k = this.faults.findIndex((f) => f.endpoint === "any" || f.endpoint === endpoint);
    if (k < 0) return undefined;
    const f = this.faults[k];
    if (!f) return undefined;
    if (f.skip > 0) {
      f.skip--;
      return undefined;
    }
    f.remaining--;
    if (f.remaining <= 0) this.faults.splice(k, 1);
    return f;
  }

  /** Answers (or withholds an answer to) a faulted request; false when the normal handler should run. */
  private applyFault(f: QueuedFault, req: IncomingMessage, res: ServerResponse): boolean {
    switch (f.kind) {
      case "429": {
        const r = errorReply(429, "Rate limit exceeded.");
        r.body = JSON.stringify({ errorMessages: ["Rate limit exceeded."] });
        r.headers["retry-after"] = String(f.retryAfter ?? 1);
        r.headers["x-ratelimit-limit"] = String(this.bucket.capacity);
        r.headers["x-ratelimit-remaining"] = "0";
        r.headers["x-ratelimit-reset"] = resetStamp(this.now() + (f.retryAfter ?? 1) * 1000);
        r.headers["ratelimit-reason"] = "jira-burst-based";
        this.send(res, r);
        return true;
      }
      case "503": {
        const r: Reply = {
          status: 503,
          headers: { "content-type": "text/html;charset=UTF-8" },
          body: "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>The server is temporarily unable to service your request. Please try again later.</p></body></html>",
        };
        if (f.retryAfter !== undefined) r.headers["retry-after"] = String(f.retryAfter);
        this.send(res, r);
        return true;
      }
      case "500":
        this.send(res, errorReply(500, "Internal server error"));
        return true;
      case "malformed":
        this.send(res, {
          status: 200,
          headers: { "content-type": JSON_TYPE },
          body: '{"issues":[{"expand":"renderedFields,names,schema","id":"10001","key":"ENG-1","fields":{"summary":"Fix login\u0000 <!-- proxy: upstream reset --> ]]}{',
        });
        return true;
      case "html":
        this.send(res, {
          status: 200,
          headers: { "content-type": "text/html;charset=UTF-8" },
          body:
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Log in with Atlassian account</title></head>' +
            "<body><div id=\"root\"><h1>Atlassian is down for scheduled maintenance</h1><p>We'll be back shortly. " +
            'Check <a href="https://status.atlassian.com">status.atlassian.com</a> for updates.</p></div></body></html>',
        });
        return true;
      case "hang":
        // Never answer; close() destroys the socket.
        req.socket.setTimeout(0);
        return true;
      case "reset":
        req.socket.destroy();
        return true;
      case "truncated":
      case "garbled":
        return false;
    }
  }

  private refillBucket(): void {
    const now = this.now();
    const b = this.bucket;
    b.tokens = Math.min(b.capacity, b.tokens + ((now - b.at) / 1000) * b.refill);
    b.at = now;
  }

  private rateLimit(): Reply | undefined {
    this.refillBucket();
    if (this.bucket.tokens >= 1) {
      this.bucket.tokens -= 1;
      return undefined;
    }
    const wait = Math.max(1, Math.ceil((1 - this.bucket.tokens) / Math.max(this.bucket.refill, 1e-9)));
    const r = jsonReply(429, { errorMessages: ["Rate limit exceeded."] });
    Object.assign(r.headers, this.rateHeaders());
    r.headers["retry-after"] = String(wait);
    r.headers["ratelimit-reason"] = "jira-burst-based";
    return r;
  }

  private rateHeaders(): Record<string, string> {
    const b = this.bucket;
    const remaining = Math.max(0, Math.floor(b.tokens));
    const h: Record<string, string> = {
      "x-ratelimit-limit": String(b.capacity),
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": resetStamp(this.now() + ((b.capacity - b.tokens) / Math.max(b.refill, 1e-9)) * 1000),
    };
    if (remaining < b.capacity * 0.2) h["x-ratelimit-nearlimit"] = "true";
    return h;
  }

  // ------------------------------------------------------------------------------------------
  // auth

  /** undefined = anonymous; null = credentials given but rejected; otherwise the granted scopes ("*" for Basic). */
  private authenticate(req: IncomingMessage): string[] | null | undefined {
    const header = req.headers.authorization;
    if (!header) return undefined;
    const m = /^(\w+)\s+(.+)$/.exec(header.trim());
    if (!m) return null;
    const scheme = (m[1] ?? "").toLowerCase();
    const cred = m[2] ?? "";
    if (scheme === "basic") {
      const decoded = Buffer.from(cred, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) return null;
      const email = decoded.slice(0, colon);
      const tokenValue = decoded.slice(colon + 1);
      return email.toLowerCase() === this.email.toLowerCase() && tokenValue === this.apiToken ? ["*"] : null;
    }
    if (scheme === "bearer") return this.oauth.check(cred) ?? null;
    return null;
  }

  // ------------------------------------------------------------------------------------------
  // routes

  private oauthRoute(req: IncomingMessage, path: string, body: string): Reply {
    if (path === "/oauth/token") {
      if (req.method !== "POST") return jsonReply(405, { error: "invalid_request", error_description: "Method not allowed" });
      let params: Record<string, string>;
      const type = (req.headers["content-type"] ?? "").toLowerCase();
      if (type.includes("application/x-www-form-urlencoded")) {
        params = Object.fromEntries(new URLSearchParams(body));
      } else {
        try {
          const parsed: unknown = JSON.parse(body || "{}");
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
          params = {};
          for (const [k, v] of Object.entries(parsed)) if (v !== null && v !== undefined) params[k] = String(v);
        } catch {
          return jsonReply(400, { error: "invalid_request", error_description: "The request body could not be parsed" });
        }
      }
      return this.oauth.token(params, req.headers.authorization);
    }
    if (path === "/oauth/token/accessible-resources") {
      const header = req.headers.authorization ?? "";
      const scopes = header.startsWith("Bearer ") ? this.oauth.check(header.slice(7).trim()) : undefined;
      if (!scopes) return jsonReply(401, { code: 401, message: "Unauthorized" });
      return jsonReply(200, [
        {
          id: this.cloudId,
          name: "sandbox",
          url: this.url,
          scopes: scopes.filter((s) => s !== "offline_access"),
          avatarUrl: "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png",
        },
      ]);
    }
    return jsonReply(404, { code: 404, message: "Not Found" });
  }

  private apiRoute(req: IncomingMessage, url: URL, path: string, body: string, gateway: boolean): Reply {
    const method = req.method ?? "GET";
    const m = /^\/rest\/api\/3\/(.*)$/.exec(path);
    const rest = m?.[1];
    const auth = this.authenticate(req);
    const cat = gateway ? this.gateway : this.site;

    // serverInfo allows anonymous access; everything else needs an account.
    const anonymousOk = rest === "serverInfo";
    if (auth === null || (auth === undefined && !anonymousOk)) {
      if (gateway) return jsonReply(401, { code: 401, message: "Unauthorized" });
      return {
        status: 401,
        headers: { "content-type": "text/plain;charset=UTF-8", "www-authenticate": `OAuth realm="${encodeURIComponent(this.url)}"`, "x-seraph-loginreason": "AUTHENTICATED_FAILED" },
        body: NOT_AUTHENTICATED,
      };
    }
    if (auth && !auth.includes("*")) {
      // Searches are POSTs that read; every other non-GET writes.
      const writing = method !== "GET" && method !== "HEAD" && !(rest ?? "").startsWith("search");
      const needed = rest === "myself" || (rest ?? "").startsWith("user/") ? "read:jira-user" : writing ? "write:jira-work" : "read:jira-work";
      const granular = auth.some((s) => s.startsWith(writing ? "write:" : "read:") && s.endsWith(":jira"));
      if (!auth.includes(needed) && !granular) return jsonReply(401, { code: 401, message: "Unauthorized; scope does not match" });
    }
    const withAccount = (r: Reply): Reply => {
      if (auth) r.headers["x-aaccountid"] = encodeURIComponent(this.site.accountIds[0] ?? "");
      return r;
    };

    if (rest === undefined) return errorReply(404, "null for uri: " + url.toString());
    const get = method === "GET" || method === "HEAD";
    if (rest === "search/jql") {
      if (method === "POST") return withAccount(this.searchPost(body, cat));
      if (get) return withAccount(this.searchGet(url.searchParams, cat));
      return errorReply(405, "Method Not Allowed");
    }
    if (rest === "search") return errorReply(410, SEARCH_REMOVED);
    if (rest === "search/approximate-count" && method === "POST") return withAccount(this.approximateCount(body));
    const issue = /^issue\/([^/]+)(?:\/(transitions|editmeta))?$/.exec(rest);
    if (issue) return withAccount(this.issueRoute(method, decodeURIComponent(issue[1] ?? ""), issue[2], url.searchParams, body, cat));
    if (!get) return errorReply(405, "Method Not Allowed");

    switch (rest) {
      case "myself":
        return withAccount(jsonReply(200, this.myself(cat)));
      case "serverInfo":
        return jsonReply(200, this.serverInfo());
      case "field":
        return withAccount(jsonReply(200, this.fieldJson));
      case "project/search":
        return withAccount(this.projectSearch(url.searchParams, cat));
      case "project":
        return withAccount(jsonReply(200, this.projects.map((_, p) => this.projectJson(p, cat))));
      case "status":
        return withAccount(jsonReply(200, cat.statuses));
      case "priority":
        return withAccount(jsonReply(200, cat.priorities));
      case "priority/search":
        return withAccount(this.prioritySearch(url.searchParams, cat));
      case "user/assignable/search":
        return withAccount(this.userSearch(url.searchParams, cat, true));
      case "user/search":
        return withAccount(this.userSearch(url.searchParams, cat, false));
      case "issuetype":
        return withAccount(jsonReply(200, cat.issueTypes));
      case "resolution":
        return withAccount(jsonReply(200, cat.resolutions));
    }
    return errorReply(404, "null for uri: " + url.toString());
  }

  // ------------------------------------------------------------------------------------------
  // writes

  /** `/issue/{key}` (GET, PUT), `/issue/{key}/transitions` (GET, POST), `/issue/{key}/editmeta` (GET). */
  private issueRoute(method: string, idOrKey: string, sub: string | undefined, params: URLSearchParams, body: string, cat: SiteCatalog): Reply {
    const i = this.ds.lookup(idOrKey);
    if (!this.ds.isLive(i)) return errorReply(404, ISSUE_NOT_FOUND);
    const get = method === "GET" || method === "HEAD";
    if (sub === undefined && get) return this.getIssue(idOrKey, params, cat);
    if (sub === undefined && method === "PUT") {
      const parsed = parseEdit(parseJson(body), this.ds.state(i), this.editContext(i));
      if ("error" in parsed) return jsonReply(400, parsed.error);
      this.applyEdit(i, parsed.edit);
      // returnIssue=true answers 200 with the issue as it is now.
      if (params.get("returnIssue") === "true") return this.getIssue(idOrKey, new URLSearchParams(), cat);
      return { status: 204, headers: {}, body: "" };
    }
    if (sub === "transitions" && get) return jsonReply(200, transitionsJson(this.ds.state(i).status, cat, params));
    if (sub === "transitions" && method === "POST") {
      const parsed = parseTransition(parseJson(body), this.ds.state(i), this.editContext(i));
      if ("error" in parsed) return jsonReply(400, parsed.error);
      this.applyEdit(i, parsed.edit);
      return { status: 204, headers: {}, body: "" };
    }
    if (sub === "editmeta" && get) return jsonReply(200, editMetaJson(this.ds.keyOf(i), this.ds.projects[this.ds.proj[i] ?? 0]?.companyManaged ?? false, cat));
    return errorReply(405, "Method Not Allowed");
  }

  private editContext(i: number): EditContext {
    const field = (id: string): unknown => (this.ds.render(i, this.site, new FieldSelection([id], "id"), this.zone)["fields"] as Record<string, unknown>)[id];
    return {
      companyManaged: this.ds.projects[this.ds.proj[i] ?? 0]?.companyManaged ?? false,
      description: () => JSON.stringify(field("description") ?? null),
      dueDate: () => (field("duedate") as string | null) ?? null,
      priority: () => this.ds.priorityIndex(i),
    };
  }

  /** A write takes effect: `updated` moves to the clock (or `atMs`); nothing changed, nothing moves. */
  private applyEdit(i: number, edit: IssueEdit, atMs?: number): boolean {
    if (Object.keys(edit).length === 0) return false;
    const at = atMs ?? Math.max(this.tick(), this.ds.created[i] ?? 0);
    this.ds.edit(i, edit, at);
    return true;
  }

  private prioritySearch(params: URLSearchParams, cat: SiteCatalog): Reply {
    const startAt = intParam(params.get("startAt"), 0);
    const maxResults = intParam(params.get("maxResults"), 50);
    if (startAt === undefined || startAt < 0 || maxResults === undefined || maxResults < 0) return errorReply(400, "The 'startAt' and 'maxResults' parameters must be non-negative numbers.");
    const ids = params.getAll("id");
    const all = cat.priorities.filter((p) => ids.length === 0 || ids.includes(String((p as { id: string }).id)));
    const values = all.slice(startAt, startAt + maxResults).map((p) => ({ ...(p as object), isDefault: (p as { name: string }).name === "Medium" }));
    const isLast = startAt + values.length >= all.length;
    return jsonReply(200, { maxResults, startAt, total: all.length, isLast, values });
  }

  /** `/user/assignable/search` (needs issueKey, issueId or project) and `/user/search`. */
  private userSearch(params: URLSearchParams, cat: SiteCatalog, assignable: boolean): Reply {
    const query = params.get("query") ?? params.get("username") ?? "";
    const accountId = params.get("accountId");
    const startAt = intParam(params.get("startAt"), 0);
    const maxResults = intParam(params.get("maxResults"), 50);
    if (startAt === undefined || startAt < 0 || maxResults === undefined || maxResults < 0) return errorReply(400, "The 'startAt' and 'maxResults' parameters must be non-negative numbers.");
    if (assignable) {
      const issueKey = params.get("issueKey") ?? params.get("issueId");
      const project = params.get("project");
      if (!issueKey && !project) return errorReply(400, "One of the following parameters must be provided: issueKey, issueId, project.");
      if (issueKey && !this.ds.isLive(this.ds.lookup(issueKey))) return errorReply(404, ISSUE_NOT_FOUND);
      if (!issueKey && project && this.ds.projectOfKey(project) === undefined && !this.projects.some((p) => p.id === project)) {
        return errorReply(404, `No project could be found with key '${project}'.`);
      }
    } else if (!query && accountId === null && !params.get("property")) {
      return errorReply(400, "One of 'accountId', 'query' or 'property' must be provided.");
    }
    const found = matchUsers(query, accountId, this.email, assignable).slice(startAt, startAt + Math.min(maxResults, 1000));
    return jsonReply(200, found.map((k) => userSearchJson(k, cat, this.email)));
  }

  private myself(cat: SiteCatalog): unknown {
    const me = cat.users[0] as Record<string, unknown>;
    return {
      self: me["self"],
      accountId: me["accountId"],
      accountType: "atlassian",
      emailAddress: this.email,
      avatarUrls: me["avatarUrls"],
      displayName: USERS[0]?.name ?? "Ana Lima",
      active: true,
      timeZone: this.zone.timeZone,
      locale: "en_US",
      groups: { size: 3, items: [] },
      applicationRoles: { size: 1, items: [] },
      expand: "groups,applicationRoles",
    };
  }

  private serverInfo(): unknown {
    return {
      baseUrl: this.url,
      displayUrl: this.url,
      displayUrlServicedeskHelpCenter: this.url,
      displayUrlConfluence: this.url,
      version: "1001.0.0-SNAPSHOT",
      versionNumbers: [1001, 0, 0],
      deploymentType: "Cloud",
      buildNumber: 100283,
      buildDate: "2026-01-12T00:00:00.000-0800",
      serverTime: this.zone.formatJira(this.now()),
      scmInfo: createHash("sha1").update("pmsync-sandbox").digest("hex"),
      serverTitle: "Jira",
      defaultLocale: { locale: "en_US" },
      serverTimeZone: "Etc/UTC",
    };
  }

  private projectJson(p: number, cat: SiteCatalog): unknown {
    const base = cat.projects[p] as Record<string, unknown>;
    const def = this.projects[p];
    return {
      expand: "description,lead,issueTypes,url,projectKeys,permissions,insight",
      self: base["self"],
      id: base["id"],
      key: base["key"],
      name: base["name"],
      avatarUrls: base["avatarUrls"],
      projectTypeKey: "software",
      simplified: !def?.companyManaged,
      style: def?.companyManaged ? "classic" : "next-gen",
      isPrivate: false,
      properties: {},
    };
  }

  private projectSearch(params: URLSearchParams, cat: SiteCatalog): Reply {
    const startAt = intParam(params.get("startAt"), 0);
    const maxResults = intParam(params.get("maxResults"), 50);
    if (startAt === undefined || startAt < 0) return errorReply(400, "The 'startAt' parameter must be a non-negative number.");
    if (maxResults === undefined || maxResults < 0) return errorReply(400, "The 'maxResults' parameter must be a non-negative number.");
    const keys = params.getAll("keys").flatMap((k) => k.split(",")).map((k) => k.trim().toUpperCase()).filter(Boolean);
    const query = (params.get("query") ?? "").toLowerCase();
    const all = this.projects
      .map((p, i) => ({ p, i }))
      .filter(({ p }) => (keys.length === 0 || keys.includes(p.key)) && (!query || p.key.toLowerCase().includes(query) || p.name.toLowerCase().includes(query)));
    const size = Math.min(maxResults, 100);
    const values = all.slice(startAt, startAt + size).map(({ i }) => this.projectJson(i, cat));
    const isLast = startAt + size >= all.length;
    const query0 = params.toString();
    const self = `${cat.base}/rest/api/3/project/search${query0 ? "?" + query0 : ""}`;
    const out: Record<string, unknown> = { self };
    if (!isLast) {
      const next = new URLSearchParams(params);
      next.set("startAt", String(startAt + size));
      next.set("maxResults", String(size));
      out["nextPage"] = `${cat.base}/rest/api/3/project/search?${next.toString()}`;
    }
    Object.assign(out, { maxResults: size, startAt, total: all.length, isLast, values });
    return jsonReply(200, out);
  }

  private jqlContext(): { zone: ZoneClock; now: number; project: (v: string) => number | undefined; issue: (v: string) => number } {
    return {
      zone: this.zone,
      now: this.now(),
      project: (v) => {
        const byKey = this.ds.projectOfKey(v);
        if (byKey !== undefined) return byKey;
        const k = this.projects.findIndex((p) => p.id === v || p.name.toLowerCase() === v.toLowerCase());
        return k >= 0 ? k : undefined;
      },
      issue: (v) => {
        const i = this.ds.lookup(v);
        return this.ds.isLive(i) ? i : -1;
      },
    };
  }

  private searchGet(params: URLSearchParams, cat: SiteCatalog): Reply {
    const maxRaw = params.get("maxResults");
    const maxResults = intParam(maxRaw, 50);
    if (maxResults === undefined) return errorReply(400, `The value '${maxRaw ?? ""}' is invalid for the parameter 'maxResults'.`);
    const fields = params.getAll("fields");
    return this.runSearch(
      {
        jql: params.get("jql") ?? "",
        nextPageToken: params.get("nextPageToken") ?? undefined,
        maxResults,
        fields: fields.length ? fields : undefined,
        expand: params.getAll("expand").join(","),
        reconcileIssues: params.getAll("reconcileIssues").flatMap((s) => s.split(",")).filter(Boolean).length,
      },
      cat,
    );
  }

  private searchPost(body: string, cat: SiteCatalog): Reply {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body || "{}");
    } catch {
      return errorReply(400, INVALID_PAYLOAD);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return errorReply(400, INVALID_PAYLOAD);
    const b = parsed as Record<string, unknown>;
    const jql = b["jql"];
    const token = b["nextPageToken"];
    const max = b["maxResults"];
    const fields = b["fields"];
    const expand = b["expand"];
    const reconcile = b["reconcileIssues"];
    if (jql !== undefined && jql !== null && typeof jql !== "string") return errorReply(400, INVALID_PAYLOAD);
    if (token !== undefined && token !== null && typeof token !== "string") return errorReply(400, INVALID_PAYLOAD);
    if (max !== undefined && max !== null && (typeof max !== "number" || !Number.isInteger(max))) return errorReply(400, INVALID_PAYLOAD);
    if (fields !== undefined && fields !== null && (!Array.isArray(fields) || fields.some((f) => typeof f !== "string"))) return errorReply(400, INVALID_PAYLOAD);
    if (expand !== undefined && expand !== null && typeof expand !== "string") return errorReply(400, INVALID_PAYLOAD);
    if (reconcile !== undefined && reconcile !== null && !Array.isArray(reconcile)) return errorReply(400, INVALID_PAYLOAD);
    return this.runSearch(
      {
        jql: typeof jql === "string" ? jql : "",
        nextPageToken: typeof token === "string" ? token : undefined,
        maxResults: typeof max === "number" ? max : 50,
        fields: Array.isArray(fields) ? (fields as string[]) : undefined,
        expand: typeof expand === "string" ? expand : "",
        reconcileIssues: Array.isArray(reconcile) ? reconcile.length : 0,
      },
      cat,
    );
  }

  private runSearch(
    r: { jql: string; nextPageToken: string | undefined; maxResults: number; fields: string[] | undefined; expand: string; reconcileIssues: number },
    cat: SiteCatalog,
  ): Reply {
    if (r.reconcileIssues > 50) return errorReply(400, "The number of issues to reconcile cannot exceed 50.");
    if (r.maxResults < 0) return errorReply(400, "The 'maxResults' parameter must not be negative.");
    const sel = new FieldSelection(r.fields, "id");
    if (!sel.idOnly) this.lastSearch = { fields: r.fields, cat };
    const cap = sel.idOnly ? 5000 : 100;
    const pageSize = Math.min(r.maxResults, cap);
    let page;
    try {
      const q = this.search.parse(r.jql, this.jqlContext());
      page = this.search.page(r.jql, q, r.nextPageToken, pageSize, this.now());
    } catch (err) {
      if (err instanceof BadRequest) return errorReply(400, ...err.messages);
      if (err instanceof JqlError) return errorReply(400, err.message);
      throw err;
    }
    const table = this.renderCache?.table(cat, sel);
    if (table) return this.searchReplyCached(table, page, r.expand, sel);
    // One buffer sized up front, each issue encoded into it on its own: most issues are Latin-1
    // strings, which encode far faster than one page-sized string made two-byte by one emoji.
    const strs = new Array<string>(page.indices.length);
    const ascii = new Array<boolean>(page.indices.length);
    let total = ISSUES_OPEN.length + Math.max(0, strs.length - 1);
    for (let k = 0; k < strs.length; k++) {
      const s = this.ds.renderJson(page.indices[k] ?? 0, cat, sel, this.zone);
      const bytes = Buffer.byteLength(s, "utf8");
      strs[k] = s;
      // Pure ASCII (as many bytes as characters): the much faster latin1 copy gives the same bytes.
      ascii[k] = bytes === s.length;
      total += bytes;
    }
    const tail = this.searchTail(page, r.expand, sel);
    total += Buffer.byteLength(tail, "utf8");
    const body = Buffer.allocUnsafe(total);
    let at = ISSUES_OPEN.copy(body, 0);
    for (let k = 0; k < strs.length; k++) {
      if (k > 0) body[at++] = 0x2c;
      at += body.write(strs[k] ?? "", at, ascii[k] ? "latin1" : "utf8");
    }
    at += body.write(tail, at, "utf8");
    return { status: 200, headers: { "content-type": JSON_TYPE }, body: at === total ? body : body.subarray(0, at) };
  }

  /** Everything after the issues: `],"nextPageToken":…,"isLast":…[,"names"…]}`. */
  private searchTail(page: { nextPageToken?: string | undefined; isLast: boolean }, expand: string, sel: FieldSelection): string {
    let tail = "]";
    if (page.nextPageToken !== undefined) tail += `,"nextPageToken":${JSON.stringify(page.nextPageToken)}`;
    tail += `,"isLast":${page.isLast}`;
    tail += this.namesAndSchema(expand, sel);
    return tail + "}";
  }

  /**
   * runSearch's reply from the render cache: the same bytes, as chunks that `send` writes as they
   * are: `{"issues":[`, each cached `,{…}` (the first without its comma), the tail.
   */
  private searchReplyCached(table: RenderTable, page: { indices: number[]; nextPageToken?: string | undefined; isLast: boolean }, expand: string, sel: FieldSelection): Reply {
    const cache = this.renderCache!;
    const n = page.indices.length;
    const chunks = new Array<Buffer>(n + 2);
    chunks[0] = ISSUES_OPEN;
    for (let k = 0; k < n; k++) {
      const b = cache.get(table, page.indices[k] ?? 0);
      chunks[k + 1] = k === 0 ? b.subarray(1) : b;
    }
    chunks[n + 1] = Buffer.from(this.searchTail(page, expand, sel), "utf8");
    return { status: 200, headers: { "content-type": JSON_TYPE }, body: chunks };
  }

  /** `,"names":{…},"schema":{…}` for `expand=names,schema` (only the returned fields). */
  private namesAndSchema(expand: string, sel: FieldSelection): string {
    const wanted = new Set(expand.split(",").map((s) => s.trim()));
    if (!wanted.has("names") && !wanted.has("schema")) return "";
    const ids = sel.envelope && !sel.idOnly ? sel.fieldIds() : [];
    let out = "";
    if (wanted.has("names")) {
      const names: Record<string, string> = {};
      for (const id of ids) names[id] = FIELD_BY_ID.get(id)?.name ?? id;
      out += `,"names":${JSON.stringify(names)}`;
    }
    if (wanted.has("schema")) {
      const schema: Record<string, unknown> = {};
      for (const id of ids) {
        const s = FIELD_BY_ID.get(id)?.schema;
        if (s) schema[id] = s;
      }
      out += `,"schema":${JSON.stringify(schema)}`;
    }
    return out;
  }

  private approximateCount(body: string): Reply {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body || "{}");
    } catch {
      return errorReply(400, INVALID_PAYLOAD);
    }
    const jql = parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>)["jql"] : undefined;
    if (jql !== undefined && typeof jql !== "string") return errorReply(400, INVALID_PAYLOAD);
    try {
      const q = this.search.parse(jql ?? "", this.jqlContext());
      return jsonReply(200, { count: this.search.count(jql ?? "", q) });
    } catch (err) {
      if (err instanceof BadRequest) return errorReply(400, ...err.messages);
      if (err instanceof JqlError) return errorReply(400, err.message);
      throw err;
    }
  }

  private getIssue(idOrKey: string, params: URLSearchParams, cat: SiteCatalog): Reply {
    const i = this.ds.lookup(idOrKey);
    if (!this.ds.isLive(i)) return errorReply(404, ISSUE_NOT_FOUND);
    const fields = params.getAll("fields");
    const sel = new FieldSelection(fields.length ? fields : undefined, "*all");
    const extra = this.namesAndSchema(params.getAll("expand").join(","), sel);
    const table = this.renderCache?.table(cat, sel);
    if (table) {
      const buf = this.renderCache!.get(table, i); // `,{…}`
      const body = extra ? [buf.subarray(1, buf.length - 1), Buffer.from(extra + "}", "utf8")] : buf.subarray(1);
      return { status: 200, headers: { "content-type": JSON_TYPE }, body };
    }
    let out = this.ds.renderJson(i, cat, sel, this.zone);
    if (extra) out = out.slice(0, -1) + extra + "}";
    return jsonReply(200, out);
  }

  // ------------------------------------------------------------------------------------------
  // control over HTTP

  info(): Record<string, unknown> {
    return { url: this.url, email: this.email, apiToken: this.apiToken, cloudId: this.cloudId, issues: this.ds.live, timeZone: this.zone.timeZone };
  }

  private controlRoute(method: string, path: string, body: string): Reply {
    let payload: Record<string, unknown> = {};
    if (body.trim()) {
      try {
        const parsed: unknown = JSON.parse(body);
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error();
        payload = parsed as Record<string, unknown>;
      } catch {
        return jsonReply(400, { error: "body must be a JSON object" });
      }
    }
    const sel = (): KeySelection => {
      const s: KeySelection = {};
      if (Array.isArray(payload["keys"])) s.keys = (payload["keys"] as unknown[]).map(String);
      if (typeof payload["count"] === "number") s.count = payload["count"];
      return s;
    };
    try {
      const route = `${method} ${path.replace(/\/+$/, "")}`;
      switch (route) {
        case "POST /_sandbox/touch":
          return jsonReply(200, { keys: this.control.touch(sel()) });
        case "POST /_sandbox/touch-volatile":
          return jsonReply(200, { keys: this.control.touchVolatile(sel()) });
        case "POST /_sandbox/delete":
          return jsonReply(200, { keys: this.control.remove(sel()) });
        case "POST /_sandbox/create": {
          const count = typeof payload["count"] === "number" ? payload["count"] : 1;
          const project = typeof payload["project"] === "string" ? payload["project"] : undefined;
          return jsonReply(200, { keys: this.control.create(project === undefined ? { count } : { count, project }) });
        }
        case "POST /_sandbox/populate": {
          const count = typeof payload["count"] === "number" ? payload["count"] : 1;
          const projects = Array.isArray(payload["projects"]) ? (payload["projects"] as unknown[]).map(String) : undefined;
          return jsonReply(200, { keys: this.control.populate(projects === undefined ? { count } : { count, projects }) });
        }
        case "POST /_sandbox/edit": {
          const at = payload["atMs"];
          const changed = this.control.edit(String(payload["key"] ?? ""), payload["fields"] ?? {}, typeof at === "number" ? at : undefined);
          return jsonReply(200, { changed });
        }
        case "POST /_sandbox/set-updated": {
          this.control.setIssueUpdated(String(payload["key"] ?? ""), Number(payload["updated"]));
          return jsonReply(200, { ok: true });
        }
        case "POST /_sandbox/faults":
          this.control.fault(payload as unknown as FaultSpec);
          return jsonReply(200, { queued: this.faults.reduce((n, f) => n + f.remaining, 0) });
        case "DELETE /_sandbox/faults":
          this.control.clearFaults();
          return jsonReply(200, { queued: 0 });
        case "GET /_sandbox/stats":
          return jsonReply(200, this.control.stats());
        case "POST /_sandbox/stats/reset":
          this.control.resetStats();
          return jsonReply(200, this.control.stats());
        case "GET /_sandbox/info":
          return jsonReply(200, this.info());
        case "POST /_sandbox/warm": {
          const f = payload["fields"];
          if (f !== undefined && f !== null && (!Array.isArray(f) || f.some((x) => typeof x !== "string"))) return jsonReply(400, { error: "fields must be an array of field ids" });
          return jsonReply(200, this.control.warmRenderCache(Array.isArray(f) ? (f as string[]) : undefined));
        }
        case "POST /_sandbox/expire-tokens":
          this.control.expireAccessTokens();
          return jsonReply(200, { ok: true });
      }
      const issue = /^GET \/_sandbox\/issue\/([^/]+)$/.exec(route);
      if (issue) {
        const json = this.control.getIssue(decodeURIComponent(issue[1] ?? ""));
        return json ? jsonReply(200, json) : errorReply(404, ISSUE_NOT_FOUND);
      }
      return jsonReply(404, { error: `no control endpoint ${route}` });
    } catch (err) {
      return jsonReply(400, { error: err instanceof Error ? err.message : String(err) });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** A request body as JSON, or undefined when it is not JSON (the parsers answer 400 for that). */
function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function describeErrors(e: JiraErrors): string {
  return [...e.errorMessages, ...Object.entries(e.errors).map(([k, v]) => `${k}: ${v}`)].join("; ");
}

function validateFault(spec: FaultSpec): QueuedFault {
  if (spec === null || typeof spec !== "object") throw new TypeError("fault: spec must be an object");
  if (!FAULT_KINDS.includes(spec.kind)) throw new TypeError(`fault: kind must be one of ${FAULT_KINDS.join(", ")}`);
  const endpoint = spec.endpoint ?? "search";
  if (!FAULT_ENDPOINTS.includes(endpoint)) throw new TypeError(`fault: endpoint must be one of ${FAULT_ENDPOINTS.join(", ")}`);
  const count = spec.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new TypeError("fault: count must be a positive integer");
  if (spec.retryAfter !== undefined && (typeof spec.retryAfter !== "number" || !(spec.retryAfter >= 0))) throw new TypeError("fault: retryAfter must be a non-negative number of seconds");
  const skip = spec.skip ?? 0;
  if (!Number.isInteger(skip) || skip < 0) throw new TypeError("fault: skip must be a non-negative integer");
  const out: QueuedFault = { kind: spec.kind, endpoint, remaining: count, skip };
  if (spec.retryAfter !== undefined) out.retryAfter = spec.retryAfter;
  return out;
}

/** `X-RateLimit-Reset` format: ISO 8601 to the minute, `yyyy-MM-ddTHH:mmZ`. */
function resetStamp(ms: number): string {
  return new Date(Math.ceil(ms / 60_000) * 60_000).toISOString().slice(0, 16) + "Z";
}

function intParam(raw: string | null, dflt: number): number | undefined {
  if (raw === null || raw === "") return dflt;
  if (!/^-?\d+$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    if (req.method === "GET" || req.method === "HEAD") {
      req.resume();
      resolve("");
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", () => resolve(""));
    req.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

export async function startServer(opts: SandboxOptions = {}): Promise<SandboxHandle> {
  const server = createServer({ keepAliveTimeout: 5_000 });
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  let sandbox: Sandbox;
  try {
    sandbox = new Sandbox(opts, server, port);
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
  server.on("request", (req, res) => {
    sandbox.handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { "content-type": JSON_TYPE });
        res.end(JSON.stringify({ errorMessages: ["Internal server error"], errors: {}, detail: String(err) }));
      }
    });
  });
  return {
    url: sandbox.url,
    port,
    email: sandbox.email,
    apiToken: sandbox.apiToken,
    cloudId: sandbox.cloudId,
    control: sandbox.control,
    close: async () => {
      await sandbox.close();
      for (const s of sockets) s.destroy();
    },
  };
}
