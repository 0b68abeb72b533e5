// `pmsync sandbox`: the built-in Jira-compatible tracker, for trying pmsync without a Jira site.
// Prints one JSON line (url, email, api_token, …) and serves until SIGINT/SIGTERM.

import type { AppContext } from "../cli/context.js";

export interface SandboxCommandOptions {
  port: number;
  issues: number;
  seed: number;
  timeZone: string;
  latencyMs: number;
  apiToken?: string;
  renderCache: boolean;
}

export async function runSandbox(ctx: AppContext, opts: SandboxCommandOptions): Promise<void> {
  const { runSandboxFromCli } = await import("../sandbox/index.js");
  const handle = await runSandboxFromCli(
    {
      port: opts.port,
      issues: opts.issues,
      seed: opts.seed,
      timeZone: opts.timeZone,
      latencyMs: opts.latencyMs,
      ...(opts.apiToken ? { apiToken: opts.apiToken } : {}),
      ...(opts.renderCache ? { renderCache: true } : {}),
    },
    (line) => ctx.io.out(line),
  );
  ctx.io.info(`Sandbox serving ${opts.issues} issues at ${handle.url}; log in with:`);
  ctx.io.info(`  echo ${handle.apiToken} | pmsync login jira --name sandbox --site ${handle.url} --email ${handle.email} --token-stdin --insecure-storage`);
  ctx.io.info("Ctrl-C stops it.");
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await handle.close();
}
