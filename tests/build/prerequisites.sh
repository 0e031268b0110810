#!/bin/sh
# The tests' prerequisites from the machine, each looked for where the tests look for it (tests/CqrsDapr.TestSupport:
# PostgresServer, RedisServer, CosmosDbServer; tests/CqrsDapr.Deployment.Tests: HelmRenderer, HelmRender/build.sh,
# chart-schema; curl for the README's examples), with the Debian package of each.
#   prerequisites.sh             nothing and exit 0 when all are there; else one line naming what is missing and the
#                                packages to install, exit 1 (TestPrerequisites.targets makes it the one error of
#                                `dotnet test`)
#   prerequisites.sh --packages  the Debian packages of the missing ones, space-separated, empty when none (.ci/run)
set -u

missing=
packages=
need() { # need WHAT PACKAGE
  missing="${missing:+$missing, }$1"
  case " $packages " in *" $2 "*) ;; *) packages="${packages:+$packages }$2" ;; esac
}
on_path() { command -v "$1" >/dev/null 2>&1; }

# PostgreSQL server binaries (postgres and initdb in one folder), unless the tests use an existing server.
if [ -z "${CQRSDAPR_TEST_POSTGRES:-}" ]; then
  found=
  on_path_postgres=$(command -v postgres 2>/dev/null || echo /nonexistent/postgres)
  for bin in /usr/lib/postgresql/*/bin "${on_path_postgres%/*}"; do
    if [ -x "$bin/postgres" ] && [ -x "$bin/initdb" ]; then found=1; fi
  done
  [ -n "$found" ] || need "PostgreSQL server binaries (postgres, initdb)" postgresql
fi
# redis-server, unless the tests use an existing server.
if [ -z "${CQRSDAPR_TEST_REDIS:-}" ]; then
  on_path redis-server || [ -x /usr/bin/redis-server ] || need redis-server redis-server
fi
# Go and Debian's Go sources of sprig and sigs.k8s.io/yaml: the Helm chart renderer of the deployment tests.
on_path go || need go golang-go
[ -d /usr/share/gocode/src/github.com/Masterminds/sprig ] \
  || need "the Go sources of sprig (/usr/share/gocode/src/github.com/Masterminds/sprig)" golang-github-masterminds-sprig-dev
[ -d /usr/share/gocode/src/sigs.k8s.io/yaml ] \
  || need "the Go sources of sigs.k8s.io/yaml (/usr/share/gocode/src/sigs.k8s.io/yaml)" golang-k8s-sigs-yaml-dev
# Node.js and npm: the chart's schema validator and the Cosmos DB stand-in (the build runs npm ci for both).
on_path node || need node nodejs
on_path npm || need npm npm
# curl: the README's examples, run as they are written.
on_path curl || need curl curl

if [ "${1:-}" = --packages ]; then
  echo "$packages"
  exit 0
fi
[ -z "$missing" ] && exit 0
echo "Missing test prerequisites: $missing. Install them with: sudo apt-get update && sudo apt-get install -y --no-upgrade $packages" \
  "(other systems: see Prerequisites in README.md. To use existing PostgreSQL or Redis servers instead, set CQRSDAPR_TEST_POSTGRES or CQRSDAPR_TEST_REDIS." \
  "To skip this check: dotnet test -p:CheckTestPrerequisites=false)"
exit 1
