// pmsync's sandbox: a Jira-Cloud-compatible HTTP server on 127.0.0.1 with deterministic,
// realistic data. pmsync's tests, `npm run bench` and `pmsync demo` run against it.
//
//   const sb = await startSandbox({ issues: 1000 });
//   // Basic auth: sb.email + sb.apiToken against sb.url, or OAuth 3LO via sb.url/authorize
//   await sb.close();
//
// Served (Jira Cloud REST v3 semantics, also under /ex/jira/{cloudId} for OAuth callers):
//   GET  /rest/api/3/myself | serverInfo | field | project/search | project | status | priority
//        | priority/search | issuetype | resolution | issue/{idOrKey} | issue/{key}/editmeta
//        | user/assignable/search | user/search
//   PUT  /rest/api/3/issue/{key}  {fields, update} → 204 (writes: writes.ts)
//   GET/POST /rest/api/3/issue/{key}/transitions (the workflow in writes.ts)
//   GET/POST /rest/api/3/search/jql          POST /rest/api/3/search/approximate-count
//   GET/POST /rest/api/3/search              → 410 (removed in Jira Cloud)
// OAuth 2.0 (3LO): GET /authorize, POST /oauth/token, GET /oauth/token/accessible-resources.
// Control (no auth, loopback): POST /_sandbox/touch | touch-volatile | delete | create |
//   populate {count, projects?} | edit {key, fields, atMs?} | set-updated {key, updated} |
//   faults | stats/reset | expire-tokens | warm {fields?};
//   DELETE /_sandbox/faults; GET /_sandbox/stats | info | issue/{key}.
// `renderCache: true` memoises rendered issue JSON (see render-cache.ts); POST /_sandbox/warm
// pre-renders every live issue, so a benchmark measures the client, not the fake's rendering.
//
// Like Jira, an issue's embedded copies of other issues (`parent`, `subtasks`, `issuelinks`)
// show those issues as they are now: editing a parent changes what its sub-tasks render
// without moving the sub-tasks' `updated`.

import { startServer } from "./server.js";
import type { SandboxHandle, SandboxOptions } from "./types.js";

export type {
  FaultEndpoint,
  FaultKind,
  FaultSpec,
  JiraIssueJson,
  KeySelection,
  SandboxControl,
  SandboxHandle,
  SandboxOptions,
  SandboxStats,
} from "./types.js";

/** Starts a sandbox server; resolves once it is listening. */
export function startSandbox(opts: SandboxOptions = {}): Promise<SandboxHandle> {
  return startServer(opts);
}

/**
 * Starts a sandbox for `pmsync sandbox` and the bench, and prints ONE JSON line describing it:
 * `{"url","email","api_token","cloud_id","issues","time_zone"}`.
 */
export async function runSandboxFromCli(opts: SandboxOptions, out: (line: string) => void): Promise<SandboxHandle> {
  const handle = await startServer(opts);
  out(
    JSON.stringify({
      url: handle.url,
      email: handle.email,
      api_token: handle.apiToken,
      cloud_id: handle.cloudId,
      issues: handle.control.issueCount(),
      time_zone: new Intl.DateTimeFormat("en-US", { timeZone: opts.timeZone ?? "America/Los_Angeles" }).resolvedOptions().timeZone,
    }),
  );
  return handle;
}
