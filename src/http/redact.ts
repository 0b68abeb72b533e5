// Secrets never reach logs, errors or --verbose output (SPEC §4).

const SECRET_QUERY_PARAMS = /^(access_token|refresh_token|id_token|token|api_key|apikey|key|client_secret|code|code_verifier|password|secret|sig|signature)$/i;
const SECRET_HEADERS = /^(authorization|proxy-authorization|cookie|set-cookie|x-redmine-api-key|x-api-key|private-token)$/i;

export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (u.username || u.password) {
    u.username = "***";
    u.password = "";
  }
  for (const name of [...u.searchParams.keys()]) {
    if (SECRET_QUERY_PARAMS.test(name)) u.searchParams.set(name, "***");
  }
  return u.toString();
}

export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = SECRET_HEADERS.test(k) ? "***" : v;
  return out;
}

/** Replaces every occurrence of the given secret values (and their Basic-auth encodings) in a text. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    out = out.split(s).join("***");
  }
  return out;
}
