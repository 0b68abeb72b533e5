// `pmsync logout <name>`: removes the connection's secrets from wherever they are (keychain,
// file store). Settings stay in config.json so `pmsync login` can start from them; cached data
// stays unless --purge. Nothing is revoked remotely (Jira has no revocation endpoint for API
// tokens or 3LO grants); the message says where each tracker lets a person do it by hand.

import { envVarName } from "../auth/credentials.js";
import type { AppContext } from "../cli/context.js";
import { loginHint } from "../providers/http.js";
import { providerModule } from "../providers/registry.js";
import { purgeConnectionData } from "./connections.js";

export async function logout(ctx: AppContext, name: string, purge: boolean): Promise<void> {
  const conn = ctx.connection(name);
  const removed = await ctx.credentials.remove(name);
  const purged = purge ? purgeConnectionData(await ctx.store(), name) : 0;
  const envSet = Boolean(process.env[envVarName(name)]);
  if (ctx.io.json) {
    ctx.io.printJson({ connection: name, removed_secrets_from: removed, purged_rows: purged, env_token_still_set: envSet });
    return;
  }
  ctx.io.out(removed.length ? `Logged out of "${name}": secrets removed from the ${removed.join(" and ")}.` : `No stored secrets for "${name}".`);
  if (envSet) ctx.io.warn(`${envVarName(name)} is still set in this environment and would still be used.`);
  const hint = providerModule(conn.provider).login.revokeHint;
  ctx.io.info(conn.auth === "oauth" ? (hint.oauth ?? hint.token) : hint.token);
  if (!purge) ctx.io.info(`Cached issues stay (\`--purge\` deletes them); \`${loginHint(name, conn)}\` logs in again.`);
}
