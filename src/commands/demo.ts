// `pmsync demo` (SPEC §2): the main job end to end on the built-in sandbox, in a temporary
// PMSYNC_HOME: log in, full sync, a few remote edits, incremental sync, local edits pushed (one
// held back by a conflict), then status, a few exported rows and the usage report.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AppContext } from "../cli/context.js";
import { ConflictError, ExitWithCode } from "../errors.js";

export async function demo(parent: AppContext, opts: { issues: number }): Promise<void> {
  const io = parent.io;
  const home = mkdtempSync(join(tmpdir(), "pmsync-demo-"));
  const ctx = new AppContext(io, { home });
  const { startSandbox } = await import("../sandbox/index.js");
  const sandbox = await startSandbox({ issues: opts.issues });
  const step = (title: string) => io.info(`\n${io.paint("bold", `== ${title}`)}`);
  try {
    io.info(`Demo home: ${home} (a throwaway PMSYNC_HOME)`);
    io.info(`Sandbox: a Jira-compatible tracker with ${opts.issues} issues at ${sandbox.url}`);

    step(`pmsync login jira --oauth --client-id sandbox-client --authorize-url ${sandbox.url}/authorize …`);
    const { login } = await import("./login.js");
    // The real OAuth loopback flow. The "browser" is automated: it opens the authorize URL, the
    // sandbox approves at once, and the redirect lands on pmsync's loopback callback. The tokens
    // are throwaway sandbox tokens, so they go in the demo home's 0600 file, not the keychain.
    await login(ctx, {
      provider: "jira",
      name: "sandbox",
      oauth: true,
      clientId: "sandbox-client",
      token: undefined,
      tokenStdin: false,
      clientSecret: "sandbox-secret",
      port: 0,
      authorizeUrl: `${sandbox.url}/authorize`,
      tokenUrl: `${sandbox.url}/oauth/token`,
      apiUrl: sandbox.url,
      projects: [],
      insecureStorage: true,
      callbackTimeoutS: 60,
      browser: async (url) => {
        const approved = await fetch(url, { redirect: "manual" });
        const callback = approved.headers.get("location");
        if (!callback) throw new Error(`the sandbox did not redirect (HTTP ${approved.status})`);
        await fetch(callback);
      },
    });

    const { sync } = await import("./sync.js");
    step("pmsync sync            (first run: full)");
    await sync(ctx, { names: ["sandbox"], mode: "auto", projects: [], dryRun: false });

    const touched = await sandbox.control.touch({ count: 5 });
    await sandbox.control.touchVolatile({ count: 20 });
    io.info(`\n(meanwhile, someone edits ${touched.length} issues and views 20 others in the tracker)`);
    step("pmsync sync            (incremental: only the 5 edits are written; views change nothing)");
    await sync(ctx, { names: ["sandbox"], mode: "auto", projects: [], dryRun: false });

    // Local edits, pushed safely: one goes through, one meets a colleague's newer change.
    const store0 = await ctx.store();
    const [mine, theirs] = store0.sqlite
      .prepare("SELECT key FROM issues WHERE connection = 'sandbox' AND status = 'To Do' AND deleted_at IS NULL ORDER BY key LIMIT 2")
      .pluck()
      .all() as string[];
    if (mine && theirs) {
      const { edit } = await import("./edit.js");
      const { push } = await import("./push.js");
      const { pending, discard } = await import("./pending.js");
      step(`pmsync edit ${mine} --set status="In Progress" --add-label demo; pmsync edit ${theirs} --set title=…`);
      await edit(ctx, { key: mine, set: ["status=In Progress"], addLabels: ["demo"], removeLabels: [], dryRun: false });
      await edit(ctx, { key: theirs, set: ["title=Renamed offline in pmsync"], addLabels: [], removeLabels: [], dryRun: false });
      sandbox.control.edit(theirs, { summary: "Renamed in the tracker by a colleague" });
      io.info(`\n(meanwhile, a colleague renames ${theirs} in the tracker)`);
      step("pmsync push            (the first change is written; the second is held back: exit 5)");
      await push(ctx, { names: [], dryRun: false, force: false }).catch((err) => {
        if (!(err instanceof ConflictError)) throw err;
        io.info(`(exit 5: ${err.message})`);
      });
      step("pmsync pending; pmsync discard " + theirs + "   (keep the colleague's title)");
      await pending(ctx, []);
      await discard(ctx, [theirs], { all: false });
    }

    step("pmsync status");
    const { status } = await import("./status.js");
    await status(ctx, ["sandbox"]).catch((err) => {
      if (!(err instanceof ExitWithCode)) throw err;
    });

    step("pmsync export --format csv --fields key,type,status,status_category,assignee,title | head -6");
    const { exportIssues } = await import("../export/export.js");
    const store = await ctx.store();
    const parts: Uint8Array[] = [];
    await exportIssues(store.sqlite, { write: async (c) => void parts.push(c) }, {
      format: "csv",
      fields: ["key", "type", "status", "status_category", "assignee", "title"],
      bom: false,
      connections: [],
      projects: [],
      statusCategories: [],
      updatedSince: null,
      includeDeleted: false,
    });
    const csv = Buffer.concat(parts).toString();
    for (const line of csv.split("\r\n").slice(0, 6)) io.out(line);

    step("pmsync usage");
    const { usage } = await import("./usage.js");
    await usage(ctx, ["sandbox"], 1);

    io.info(`\nThe cache stays for you to explore: sqlite3 ${join(home, "pmsync.db")} 'select key, status, title from issues limit 5'`);
    io.info(`  or: PMSYNC_HOME=${home} pmsync export --format csv`);
  } finally {
    await ctx.close();
    await sandbox.close();
  }
}
