// PKCE (RFC 7636, S256) and the `state` value, for every OAuth flow (SPEC §4, §10).

import { createHash, randomBytes } from "node:crypto";

export interface Pkce {
  verifier: string;
  challenge: string;
  method: "S256";
}

export function createPkce(): Pkce {
  // 32 random bytes → 43 base64url characters, the shortest verifier RFC 7636 allows.
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url"), method: "S256" };
}

export function createState(): string {
  return randomBytes(16).toString("base64url");
}
