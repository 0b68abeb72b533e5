// The command table. Each action parses its options into a typed object and calls the command
// module, imported lazily so start-up stays flat as commands are added.

import { Command, Option, InvalidArgumentError } from "commander";
import type { AppContext, HttpSettings } from "./context.js";

export const EXIT_CODES_HELP = `
Exit codes:
  0   success
  1   failure
  2   usage error (bad flag or value, or an answer a non-interactive run cannot give)
  3   partial failure (some connections or items failed; status: some connection unhealthy)
  4   authentication required or rejected (run \`pmsync login …\`)
  5   push stopped on conflicts
  75  another pmsync process holds the lock (try again later)

Environment:
  PMSYNC_HOME            directory for config.json and the default pmsync.db
  PMSYNC_DB              cache database path
  PMSYNC_TOKEN_<NAME>    token for connection NAME (upper-cased, non-alphanumerics as _)
  NO_COLOR               disables colour`;

const collect = (value: string, previous: string[]) => [...previous, value];

function positiveSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number of seconds greater than 0");
  return n;
}

function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("expected a port number (0 = any free port)");
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number, at least 1");
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected a whole number, 0 or more");
  return n;
}

function httpSettings(o: { timeout?: number; maxRetryWait?: number }): Partial<HttpSettings> {
  const s: Partial<HttpSettings> = {};
  if (o.timeout !== undefined) s.timeoutMs = o.timeout * 1000;
  if (o.maxRetryWait !== undefined) s.maxRetryWaitMs = o.maxRetryWait * 1000;
  return s;
}

export function buildProgram(version: string, getCtx: (cmd: Command) => AppContext): Command {
  const program = new Command("pmsync")
    .description("A local, queryable cache of your project-management data: sync, edit, push, export, report.")
    .version(version, "-V, --version")
    .option("--home <dir>", "directory for config.json and the default cache (env PMSYNC_HOME)")
    .option("--db <path>", "cache database path (env PMSYNC_DB)")
    .option("--json", "machine output: one JSON document on stdout")
    .option("-q, --quiet", "print errors only")
    .option("-v, --verbose", "print HTTP requests (secrets redacted) and more detail")
    .option("--no-color", "no colours (also NO_COLOR)")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", EXIT_CODES_HELP);

  program
    .command("login")
    .description("create or update a connection; verifies the credential before saving anything")
    .argument("<provider>", "tracker: jira, github, linear or redmine")
    .option("--name <name>", "connection name (default: the provider's name)")
    .option("--site <url>", "the instance, e.g. https://your-team.atlassian.net")
    .option("--email <email>", "account email (Jira API-token login)")
    .option("--token-stdin", "read the API token from standard input")
    .option("--api-url <url>", "send API calls here instead of --site")
    .option("--project <key>", "limit the connection to a project (repeatable; default: all): Jira project key, GitHub owner/name, Linear team key, Redmine identifier", collect, [])
    .option("--repo <owner/name>", "GitHub: a repository (repeatable; same as --project)", collect, [])
    .option("--owner <login>", "GitHub: every repository of this organisation or user")
    .option("--insecure-storage", "store the secret in a 0600 file in PMSYNC_HOME instead of the OS keychain")
    .option("--oauth", "log in through the browser (OAuth 2.0 with PKCE: Jira 3LO, GitHub, Linear) instead of a token")
    .option("--client-id <id>", "OAuth app client id")
    .option("--client-secret-stdin", "read the OAuth app's client secret from standard input")
    .option("--port <port>", "loopback callback port: the one registered for the app (Jira default 9876, Linear 9877; GitHub any); 0 = any free port", portNumber)
    .option("--no-browser", "print the authorization URL instead of opening a browser")
    .option("--device", "GitHub: log in with a code typed on any device (RFC 8628 device flow; no browser here)")
    .option("--authorize-url <url>", "OAuth authorization endpoint (default: the provider's)")
    .option("--token-url <url>", "OAuth token endpoint (default: the provider's)")
    .option("--callback-timeout <seconds>", "how long to wait for the browser (default 300)", positiveSeconds, 300)
    .addHelpText(
      "after",
      `
Examples:
  pmsync login jira --site https://acme.atlassian.net --email me@acme.com --token-stdin < token.txt
  PMSYNC_TOKEN_JIRA=… pmsync login jira --site https://acme.atlassian.net --email me@acme.com
  pmsync login jira --oauth --client-id ABC --client-secret-stdin < secret.txt   # callback http://127.0.0.1:9876/callback`,
    )
    .action(async (provider: string, o, cmd: Command) => {
      const { login } = await import("../commands/login.js");
      await login(getCtx(cmd), {
        provider,
        name: o.name,
        site: o.site,
        email: o.email,
        apiUrl: o.apiUrl,
        tokenStdin: Boolean(o.tokenStdin),
        projects: [...o.project, ...o.repo],
        ...(o.owner ? { options: { owner: o.owner } } : {}),
        insecureStorage: Boolean(o.insecureStorage),
        oauth: Boolean(o.oauth),
        clientId: o.clientId,
        clientSecretStdin: Boolean(o.clientSecretStdin),
        port: o.port,
        noBrowser: o.browser === false,
        device: Boolean(o.device),
        authorizeUrl: o.authorizeUrl,
        tokenUrl: o.tokenUrl,
        callbackTimeoutS: o.callbackTimeout,
      });
    });

  program
    .command("logout")
    .description("remove a connection's secrets from the keychain (settings and cached data stay)")
    .argument("<name>")
    .option("--purge", "also delete its cached issues and history")
    .action(async (name: string, o, cmd: Command) => (await import("../commands/logout.js")).logout(getCtx(cmd), name, Boolean(o.purge)));

  const connections = program.command("connections").description("list, show, enable, disable, change and remove connections");
  connections
    .command("list", { isDefault: true })
    .description("list connections")
    .action(async (_o, cmd: Command) => (await import("../commands/connections.js")).listConnections(getCtx(cmd)));
  connections
    .command("show")
    .argument("<name>")
    .description("show one connection's settings and sync state")
    .action(async (name: string, _o, cmd: Command) => (await import("../commands/connections.js")).showConnection(getCtx(cmd), name));
  connections
    .command("enable")
    .argument("<name>")
    .description("turn a connection back on (also after it was disabled for failing) and clear its failure count")
    .action(async (name: string, _o, cmd: Command) => (await import("../commands/connections.js")).setEnabled(getCtx(cmd), name, true));
  connections
    .command("disable")
    .argument("<name>")
    .description("make `pmsync sync` skip a connection")
    .action(async (name: string, _o, cmd: Command) => (await import("../commands/connections.js")).setEnabled(getCtx(cmd), name, false));
  connections
    .command("set")
    .argument("<name>")
    .option("--projects <list>", "comma-separated projects in scope (empty string: everything the account can see)")
    .option("--auto-disable-after <n>", "disable after this many failed syncs in a row (default 5; 0 = never)", nonNegativeInt)
    .description("change a connection's scope or failure threshold without logging in again")
    .action(async (name: string, o, cmd: Command) =>
      (await import("../commands/connections.js")).setConnection(getCtx(cmd), name, {
        ...(o.projects !== undefined ? { projects: String(o.projects).split(",").map((p: string) => p.trim()).filter(Boolean) } : {}),
        ...(o.autoDisableAfter !== undefined ? { autoDisableAfter: o.autoDisableAfter } : {}),
      }),
    );
  connections
    .command("remove")
    .argument("<name>")
    .option("--purge", "also delete its cached issues and history")
    .description("remove a connection and its secret")
    .action(async (name: string, o, cmd: Command) =>
      (await import("../commands/connections.js")).removeConnection(getCtx(cmd), name, Boolean(o.purge)),
    );

  program
    .command("sync")
    .description("pull issues into the cache (incremental where a cursor exists, full otherwise)")
    .argument("[names...]", "connections to sync (default: all enabled)")
    .addOption(new Option("--incremental", "pull what changed since the cursor").conflicts("full"))
    .addOption(new Option("--full", "pull everything and mark vanished issues deleted").conflicts("incremental"))
    .option("--project <key>", "only this project (repeatable)", collect, [])
    .option("--dry-run", "pull and compare, write nothing")
    .option("--timeout <seconds>", "per-request timeout (default 60)", positiveSeconds)
    .option("--max-retry-wait <seconds>", "total retry waiting per request (default 120)", positiveSeconds)
    .action(async (names: string[], o, cmd: Command) => {
      const { sync } = await import("../commands/sync.js");
      await sync(getCtx(cmd), {
        names,
        mode: o.full ? "full" : o.incremental ? "incremental" : "auto",
        projects: o.project,
        dryRun: Boolean(o.dryRun),
        http: httpSettings(o),
      });
    });

  program
    .command("edit")
    .description("queue a local change to an issue (nothing is sent until `pmsync push`)")
    .argument("<key>", "the issue, e.g. PROJ-123, owner/repo#12, ENG-7, #42")
    .option("--connection <name>", "the connection, when the key exists in several")
    .option("--set <field=value>", "title, description, status, priority, assignee, labels (a;b), due_date (YYYY-MM-DD), story_points; empty value clears (repeatable)", collect, [])
    .option("--add-label <label>", "add a label (repeatable)", collect, [])
    .option("--remove-label <label>", "remove a label (repeatable)", collect, [])
    .option("--dry-run", "show the change without queuing it")
    .addHelpText("after", `
Examples:
  pmsync edit PROJ-12 --set status="In Progress" --set assignee="Ada Lovelace"
  pmsync edit PROJ-12 --add-label urgent --remove-label later
  pmsync edit PROJ-12 --set due_date=   # clears the due date`)
    .action(async (key: string, o, cmd: Command) => {
      await (await import("../commands/edit.js")).edit(getCtx(cmd), {
        key,
        ...(o.connection ? { connection: o.connection } : {}),
        set: o.set,
        addLabels: o.addLabel,
        removeLabels: o.removeLabel,
        dryRun: Boolean(o.dryRun),
      });
    });

  program
    .command("import")
    .description("queue the differences between an edited export (csv, json, ndjson) and the cache")
    .argument("<file>", "a file written by `pmsync export` and edited (the format comes from its extension)")
    .option("--dry-run", "show what would be queued, queue nothing")
    .addHelpText("after", "\nThe whole file is checked first: one invalid cell rejects it, naming row and column, and nothing is queued.\nRead-only columns (created_at, status_category, …) are ignored.")
    .action(async (file: string, o, cmd: Command) => {
      await (await import("../commands/import.js")).importFile(getCtx(cmd), file, Boolean(o.dryRun));
    });

  program
    .command("pending")
    .description("list queued local changes and conflicts")
    .argument("[names...]", "connections (default: all)")
    .action(async (names: string[], _o, cmd: Command) => {
      await (await import("../commands/pending.js")).pending(getCtx(cmd), names);
    });

  program
    .command("discard")
    .description("drop queued changes of the named issues")
    .argument("[keys...]")
    .option("--all", "drop every queued change")
    .option("--connection <name>", "only in this connection")
    .action(async (keys: string[], o, cmd: Command) => {
      await (await import("../commands/pending.js")).discard(getCtx(cmd), keys, { all: Boolean(o.all), ...(o.connection ? { connection: o.connection } : {}) });
    });

  program
    .command("push")
    .description("send queued changes; a field the tracker also changed is a conflict and is not written")
    .argument("[names...]", "connections (default: all with queued changes)")
    .option("--dry-run", "show what would be written, send nothing")
    .option("--force", "write even where the tracker changed the field since the edit")
    .option("--timeout <seconds>", "per-request timeout (default 60)", positiveSeconds)
    .option("--max-retry-wait <seconds>", "total retry waiting per request (default 120)", positiveSeconds)
    .addHelpText("after", "\nExit 5 when conflicts held changes back, 3 when some changes failed (they stay queued).")
    .action(async (names: string[], o, cmd: Command) => {
      await (await import("../commands/push.js")).push(getCtx(cmd), { names, dryRun: Boolean(o.dryRun), force: Boolean(o.force), http: httpSettings(o) });
    });

  program
    .command("status")
    .description("per connection: login, last sync, cursor, issues by status category, warnings")
    .argument("[names...]")
    .option("--stale-after <span>", "warn when the last successful sync is older than this (e.g. 6h, 2d)", "24h")
    .addHelpText("after", "\nExit 3 when a connection is unhealthy (disabled, last sync failed, never synced, no credentials): usable from monitoring.")
    .action(async (names: string[], o, cmd: Command) => {
      await (await import("../commands/status.js")).status(getCtx(cmd), names, o.staleAfter);
    });

  program
    .command("usage")
    .description("API requests and sync results per connection per day")
    .argument("[names...]")
    .option("--days <n>", "how many days back (default 7)", positiveInt, 7)
    .action(async (names: string[], o, cmd: Command) => {
      await (await import("../commands/usage.js")).usage(getCtx(cmd), names, o.days);
    });

  program
    .command("changes")
    .description("what syncs changed in the cache: per issue, each field old → new")
    .argument("[names...]", "connections (default: all)")
    .option("--since <when>", "a span like 1d, 12h, 2w, or an ISO date/time", "1d")
    .addHelpText("after", "\nExamples:\n  pmsync changes --since 12h\n  pmsync changes jira --since 2026-11-01 --json")
    .action(async (names: string[], o, cmd: Command) => {
      await (await import("../commands/changes.js")).changes(getCtx(cmd), names, o.since);
    });

  const mappings = program
    .command("mappings")
    .description("field and status mappings: confidence, state, review and decisions")
    .addHelpText(
      "after",
      `
Examples:
  pmsync mappings jira --json
  pmsync mappings review jira
  pmsync mappings set jira customfield_10042 priority
  pmsync mappings set jira "Team" custom.team
  pmsync mappings set jira "status:In Review" in_progress
  pmsync mappings ignore jira customfield_10019`,
    );
  mappings
    .command("list", { isDefault: true })
    .description("each source field and status: target, confidence, state (auto, suggested, unmapped, approved, manual, ignored) and reasons")
    .argument("[name]", "connection (default: all)")
    .action(async (name: string | undefined, _o, cmd: Command) => (await import("../commands/mappings.js")).mappingsList(getCtx(cmd), name));
  mappings
    .command("review")
    .description("answer questions about the mappings pmsync is not sure about (needs a terminal)")
    .argument("[name]", "connection (default: all)")
    .action(async (name: string | undefined, _o, cmd: Command) => (await import("../commands/mappings.js")).mappingsReview(getCtx(cmd), name));
  mappings
    .command("set")
    .description("map a source field (or a status) to a target; re-derives the cache from stored payloads")
    .argument("<name>", "connection")
    .argument("<source-field>", "source id (customfield_10042), field name, or status (status:<name>)")
    .argument("<target>", "story_points, sprint, due_date, priority, labels, parent, assignee, reporter, type, custom.<slug>; for a status: todo, in_progress, done, cancelled")
    .action(async (name: string, field: string, target: string, _o, cmd: Command) =>
      (await import("../commands/mappings.js")).mappingsSet(getCtx(cmd), name, field, target),
    );
  mappings
    .command("ignore")
    .description("never map a source field (asked again only if the tracker changes it)")
    .argument("<name>", "connection")
    .argument("<source-field>", "source id, field name, or status")
    .action(async (name: string, field: string, _o, cmd: Command) => (await import("../commands/mappings.js")).mappingsIgnore(getCtx(cmd), name, field));
  mappings
    .command("reset")
    .description("drop every decision of a connection and score its fields afresh")
    .argument("<name>", "connection")
    .action(async (name: string, _o, cmd: Command) => (await import("../commands/mappings.js")).mappingsReset(getCtx(cmd), name));

  program
    .command("export")
    .description("stream issues from the cache as json, ndjson or csv")
    .option("--format <format>", "json, ndjson or csv", "json")
    .option("--out <file>", "write to a file (atomically) instead of stdout")
    .option("--connection <name>", "only this connection (repeatable)", collect, [])
    .option("--project <key>", "only this project (repeatable)", collect, [])
    .option("--status-category <c>", "todo, in_progress, done or cancelled (repeatable)", collect, [])
    .option("--updated-since <when>", "ISO date/time, or a span like 7d")
    .option("--include-deleted", "include issues marked deleted")
    .option("--fields <list>", "comma-separated columns, in this order")
    .option("--bom", "start CSV with a UTF-8 byte-order mark (Excel)")
    .addHelpText("after", "\nExamples:\n  pmsync export --format csv --out issues.csv\n  pmsync export --format ndjson --status-category in_progress | jq .key")
    .action(async (o, cmd: Command) => {
      const { runExport } = await import("../commands/export.js");
      await runExport(getCtx(cmd), {
        format: o.format,
        out: o.out,
        connections: o.connection,
        projects: o.project,
        statusCategories: o.statusCategory,
        updatedSince: o.updatedSince,
        includeDeleted: Boolean(o.includeDeleted),
        fields: o.fields,
        bom: Boolean(o.bom),
      });
    });

  program
    .command("doctor")
    .description("check config, cache integrity, the keychain, and each connection's login, network and clock")
    .action(async (_o, cmd: Command) => {
      await (await import("../commands/doctor.js")).doctor(getCtx(cmd));
    });

  program
    .command("sandbox")
    .description("run the built-in Jira-compatible sandbox tracker on 127.0.0.1 until interrupted")
    .option("--port <port>", "port (default: any free port)", (v) => Number(v), 0)
    .option("--issues <n>", "number of generated issues", positiveInt, 500)
    .option("--seed <n>", "data seed", positiveInt, 1)
    .option("--time-zone <tz>", "the account's profile time zone", "America/Los_Angeles")
    .option("--latency <ms>", "added delay per API request", (v) => Number(v), 0)
    .option("--token <token>", "API token to accept (default: random)")
    .option("--render-cache", "keep rendered issue JSON in memory (~6 KB per issue), so serving costs almost no CPU (bench)")
    .action(async (o, cmd: Command) => {
      const { runSandbox } = await import("../commands/sandbox.js");
      await runSandbox(getCtx(cmd), {
        port: o.port,
        issues: o.issues,
        seed: o.seed,
        timeZone: o.timeZone,
        latencyMs: o.latency,
        apiToken: o.token,
        renderCache: Boolean(o.renderCache),
      });
    });

  program
    .command("demo")
    .description("start the sandbox, log in, sync, and show status, an export and usage")
    .option("--issues <n>", "number of sandbox issues", positiveInt, 300)
    .action(async (o, cmd: Command) => {
      const { demo } = await import("../commands/demo.js");
      await demo(getCtx(cmd), { issues: o.issues });
    });

  return program;
}
