// Which unified fields a connection's provider can write: asked of the provider itself, without
// a network call (constructing a provider makes no request).

import type { AppContext } from "../cli/context.js";
import type { HttpClient } from "../http/client.js";
import type { EditableField } from "../providers/provider.js";
import { providerModule } from "../providers/registry.js";

export function editableFieldsOf(ctx: AppContext, connection: string): ReadonlySet<EditableField> {
  const config = ctx.connection(connection);
  const provider = providerModule(config.provider).create({
    connectionName: connection,
    config,
    secret: { type: "api_token", token: "" },
    http: null as unknown as HttpClient, // never used: no request is made
  });
  return provider.editableFields;
}
