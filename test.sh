#!/usr/bin/env bash
# Runs every test of the solution on a fresh Debian 12 machine (root, .NET 10 SDK, node/npm present):
# installs and starts the local services (infra/services.sh), builds in Release and runs all test projects against them.
# Prints "N passed, N failed" as its very last line and exits non-zero on any failure. Services are stopped on exit
# (KIMIA_KEEP_SERVICES=1 leaves them running). Extra arguments go to `dotnet test` (e.g. --filter FullyQualifiedName~Audio).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT="$PWD"
RESULTS="$ROOT/TestResults"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK (dotnet) is not on PATH" >&2; exit 1; }

# The summary is printed last, after the services have stopped; a run that fails before the tests counts as one failure.
SUMMARY="0 passed, 1 failed"
cleanup() {
  local rc=$?
  if [[ "${KIMIA_KEEP_SERVICES:-0}" != 1 ]]; then infra/services.sh stop || true; fi
  echo "== test.sh took ${SECONDS} s"
  echo "$SUMMARY"
  exit "$rc"
}
trap cleanup EXIT

infra/services.sh install
infra/services.sh start
# shellcheck source=/dev/null
source .run/services.env

echo "== build"
dotnet build KimiAudio.Pipeline.sln -c Release --nologo

echo "== test"
rm -rf "$RESULTS"
test_rc=0
# --blame-hang-timeout: a test host stuck on one test for this long is killed and the run reports it, instead of hanging CI.
timeout 80m dotnet test KimiAudio.Pipeline.sln -c Release --no-build --nologo \
  --results-directory "$RESULTS" --logger trx --logger "console;verbosity=normal" \
  --blame-hang-timeout 20m --blame-hang-dump-type none "$@" || test_rc=$?

# Sum the counters of every test project's trx file.
passed=0; failed=0; total=0; files=0
while IFS= read -r -d '' trx; do
  files=$((files + 1))
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n1 || true)"
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  t="$(get total)"; p="$(get passed)"; f="$(get failed)"; e="$(get error)"; to="$(get timeout)"; ab="$(get aborted)"
  total=$((total + ${t:-0})); passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${to:-0} + ${ab:-0}))
done < <(find "$RESULTS" -name '*.trx' -print0 2>/dev/null)

echo "== $files test result file(s) in ${RESULTS#"$ROOT"/}"
if ((test_rc != 0 && failed == 0)); then
  failed=1 # dotnet test failed without a counted failure (crashed test host, timeout, no results)
  echo "dotnet test exited with $test_rc" >&2
fi
if ((total == 0)); then
  echo "no test ran" >&2
  failed=$((failed > 0 ? failed : 1))
fi
SUMMARY="$passed passed, $failed failed"
((failed == 0))
