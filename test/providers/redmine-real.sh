#!/bin/bash
# Runs test/providers/redmine-real.test.ts against a real Redmine 5.0.4 (Debian bookworm packages),
# started with /work/shared/tools/redmine-up.sh (needs root; the first run installs packages and
# takes minutes, later runs ~40 s) and stopped again afterwards.
#
#   bash test/providers/redmine-real.sh            # build, start Redmine, run the test, stop Redmine
#   KEEP_REDMINE=1 bash test/providers/redmine-real.sh   # leave the server running
#
# Env: PORT (3000), REDMINE_TOOLS (../shared/tools beside the repository), SKIP_BUILD=1 (dist/ is already built).
set -euo pipefail
cd "$(dirname "$0")/../.."
# ../shared beside the repository (as CI lays it out), unless REDMINE_TOOLS says otherwise.
TOOLS="${REDMINE_TOOLS:-$(cd .. && pwd)/shared/tools}"
export PORT="${PORT:-3000}"

[ "${SKIP_BUILD:-}" = 1 ] || npx tsc -p tsconfig.json
# redmine-up.sh prints progress on stderr and the admin API key on its last stdout line.
key="$(bash "$TOOLS/redmine-up.sh" | tail -n 1)"
[ -n "$key" ] || { echo "redmine-real.sh: redmine-up.sh printed no API key" >&2; exit 1; }
[ "${KEEP_REDMINE:-}" = 1 ] || trap 'bash "$TOOLS/redmine-down.sh"' EXIT

PMSYNC_TEST_REDMINE_URL="http://127.0.0.1:$PORT" PMSYNC_TEST_REDMINE_KEY="$key" \
  npx vitest run test/providers/redmine-real.test.ts
