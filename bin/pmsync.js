#!/usr/bin/env node
// pmsync's executable. `--version` is answered here without loading the CLI, so scripts that
// probe it pay only for Node's own start-up; everything else runs src/cli/main.ts (built to dist/).
import { readFileSync } from "node:fs";

// `pmsync … | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on("error", (err) => {
  if (err.code !== "EPIPE") throw err;
});

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
  const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  process.stdout.write(pkg.version + "\n");
} else {
  const { main } = await import("../dist/src/cli/main.js");
  process.exitCode = await main(process.argv);
}
