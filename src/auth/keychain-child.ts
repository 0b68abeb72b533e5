// Runs one keychain operation in its own process. A Secret Service that accepts the D-Bus
// connection but never answers blocks the calling thread inside the native module, where no
// timer can reach it; a child process can always be killed (see Keychain in credentials.ts).
// Protocol: one JSON request on stdin, one JSON reply on stdout.

import { Entry } from "@napi-rs/keyring";

interface Request {
  op: "get" | "set" | "delete";
  service: string;
  account: string;
  value?: string;
}

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const req = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Request;
try {
  const entry = new Entry(req.service, req.account);
  let result: string | boolean | null = null;
  if (req.op === "get") result = entry.getPassword() ?? null;
  else if (req.op === "set") entry.setPassword(req.value ?? "");
  else result = entry.deletePassword();
  process.stdout.write(JSON.stringify({ ok: true, result }));
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: (err as Error).message }));
}
