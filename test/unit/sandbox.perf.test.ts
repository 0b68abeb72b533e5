// What serving a full 100,000-issue pull in 100-issue pages costs the sandbox. Slow (about
// 10 s), so it runs only when asked:  SANDBOX_PERF=1 npx vitest run test/unit/sandbox.perf
//
// The client here is deliberately thin (node:http, bodies counted, not parsed) so that the
// process CPU measured is almost all server work; it is an upper bound on the server's cost.

import { request } from "node:http";
import { describe, expect, it } from "vitest";
import { startSandbox } from "../../src/sandbox/index.js";

const N = Number(process.env["SANDBOX_PERF_ISSUES"] ?? 100_000);

/** The fields pmsync requests: its system fields plus every custom field of the site. */
const PMSYNC_FIELDS = [
  "summary", "description", "issuetype", "status", "priority", "assignee", "reporter", "creator",
  "labels", "parent", "duedate", "created", "updated", "resolution", "resolutiondate", "project",
  "components", "fixVersions", "versions", "environment", "timetracking", "watches", "votes", "lastViewed",
  "customfield_10000", "customfield_10016", "customfield_10019", "customfield_10020", "customfield_10022",
  "customfield_10026", "customfield_10040", "customfield_10041", "customfield_10042", "customfield_10043",
  "customfield_10044", "customfield_10045",
];

/** What pmsync sends today (SYSTEM_FIELDS, then the custom ids): what `warmRenderCache()` warms. */
const PMSYNC_SEARCH_FIELDS = [
  "summary", "description", "issuetype", "status", "priority", "assignee", "reporter",
  "labels", "parent", "duedate", "created", "updated", "resolution", "resolutiondate", "project",
  "components", "fixVersions", "versions", "environment", "timetracking", "lastViewed",
  ...PMSYNC_FIELDS.filter((f) => f.startsWith("customfield_")),
];

function post(url: string, auth: string, body: unknown): Promise<{ bytes: number; token: string | undefined; count: number }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(url, { method: "POST", headers: { authorization: auth, "content-type": "application/json", "content-length": Buffer.byteLength(data) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const buf = Buffer.concat(chunks);
        // Only the tail is inspected: the token and the number of issues (ids in the page).
        const tail = buf.subarray(Math.max(0, buf.length - 400)).toString("utf8");
        const token = /"nextPageToken":"([^"]+)"/.exec(tail)?.[1];
        const count = buf.toString("latin1").split('{"expand":').length - 1;
        resolve({ bytes: buf.length, token, count });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(data);
  });
}

describe.skipIf(!process.env["SANDBOX_PERF"])("sandbox performance", () => {
  const cases: [string, readonly string[], boolean][] = [
    ["pmsync's fields", PMSYNC_FIELDS, false],
    ["*all", ["*all"], false],
    ["pmsync's fields, render cache warm", PMSYNC_SEARCH_FIELDS, true],
  ];
  for (const [label, fields, renderCache] of cases) {
    it(`serves ${N} issues in 100-issue pages (${label}) well under 5 s of CPU`, { timeout: 120_000 }, async () => {
      const t0 = performance.now();
      const sb = await startSandbox({ issues: N, renderCache });
      let startMs = performance.now() - t0;
      let warmNote = "";
      if (renderCache) {
        const w = sb.control.warmRenderCache();
        expect(w.issues).toBe(N);
        warmNote = `; warm ${w.ms.toFixed(0)} ms, ${(w.bytes / 1e6).toFixed(0)} MB, RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`;
        sb.control.resetStats();
        startMs = performance.now() - t0;
      }
      const auth = "Basic " + Buffer.from(`${sb.email}:${sb.apiToken}`).toString("base64");
      const cpu0 = process.cpuUsage();
      const wall0 = performance.now();
      let token: string | undefined;
      let bytes = 0;
      let issues = 0;
      do {
        const page = await post(`${sb.url}/rest/api/3/search/jql`, auth, {
          jql: 'created >= "1970-01-01" ORDER BY updated ASC, key ASC',
          fields,
          maxResults: 100,
          ...(token ? { nextPageToken: token } : {}),
        });
        bytes += page.bytes;
        issues += page.count;
        token = page.token;
      } while (token);
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const wallMs = performance.now() - wall0;
      if (renderCache) expect(sb.control.stats().renderCache).toMatchObject({ hits: N, misses: 0 });
      await sb.close();
      console.log(
        `[sandbox perf] ${label}: start ${startMs.toFixed(0)} ms${warmNote}; ${issues} issues, ${(bytes / 1e6).toFixed(0)} MB, ` +
          `${(bytes / issues).toFixed(0)} B/issue; process CPU ${cpuMs.toFixed(0)} ms (user ${(cpu.user / 1000).toFixed(0)}, sys ${(cpu.system / 1000).toFixed(0)}); wall ${wallMs.toFixed(0)} ms`,
      );
      expect(issues).toBe(N);
      expect(cpuMs).toBeLessThan(5_000);
    });
  }
});
