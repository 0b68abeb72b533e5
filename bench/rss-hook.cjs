// Preloaded into a pmsync process by the bench (`node --require`): records its peak RSS at exit.
const { writeFileSync } = require("node:fs");
const out = process.env.PMSYNC_BENCH_RSS_FILE;
if (out) process.on("exit", () => writeFileSync(out, String(process.resourceUsage().maxRSS * 1024)));
