// The providers pmsync knows. Adding one: a folder under src/providers/ with the same file set
// as jira/, and a line here (docs/architecture.md).

import { UsageError } from "../errors.js";
import type { ProviderModule } from "./provider.js";
import { jira } from "./jira/index.js";
import { github } from "./github/index.js";
import { linear } from "./linear/index.js";
import { redmine } from "./redmine/index.js";

const PROVIDERS: Record<string, ProviderModule> = {
  jira,
  github,
  linear,
  redmine,
};

export const SUPPORTED_PROVIDERS = Object.keys(PROVIDERS);

export function providerModule(name: string): ProviderModule {
  const m = PROVIDERS[name];
  if (!m) {
    throw new UsageError(`unknown provider "${name}"`, { hint: `supported now: ${SUPPORTED_PROVIDERS.join(", ")}` });
  }
  return m;
}
