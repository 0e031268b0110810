#!/usr/bin/env bash
# Operator calls against the system a running AppHost started, from a shell, without its dashboard: the same calls as
# the query-service resource's commands there ("Rebuild views", "Rebuild status", "Dead letters").
#
#   docs/tools/ops.sh rebuild              start a rebuild of every product view (202; 409 while one runs)
#   docs/tools/ops.sh status               generations and the last rebuild
#   docs/tools/ops.sh dead-letters [N]     the first N dead letters (default 100, at most 1000)
#
# The AppHost writes <data directory>/operator.env (mode 0600) once the query service is healthy and removes it when it
# stops: the query service's sidecar address and this run's DAPR API token. The data directory is .cqrsdapr/data in
# the repository, or set CQRSDAPR_DATA_DIRECTORY to the AppHost's CqrsDapr:DataDirectory. The call goes through the
# sidecar (Dapr service invocation, as in production); the token travels on stdin, never on a command line.
# Prints the query service's JSON answer (pretty with jq when installed); exits 1 when the call fails. Needs curl.
set -euo pipefail

usage() {
  sed -n '5,7s/^#   //p' "$0" >&2
  exit 2
}

repository="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
data="${CQRSDAPR_DATA_DIRECTORY:-$repository/.cqrsdapr/data}"
file="$data/operator.env"

case "${1:-}" in
  rebuild) method=POST path=internal/rebuilds/products ;;
  status) method=GET path=internal/rebuilds/products ;;
  dead-letters)
    limit="${2:-100}"
    [[ $limit =~ ^[0-9]+$ ]] || usage
    method=GET path="internal/dead-letters?limit=$limit"
    ;;
  *) usage ;;
esac

if [[ ! -f $file ]]; then
  echo "error: $file does not exist: no AppHost with this data directory has a healthy query service (start it: dotnet run --project src/CqrsDapr.AppHost; set CQRSDAPR_DATA_DIRECTORY when it runs with another CqrsDapr:DataDirectory)." >&2
  exit 1
fi

value() { sed -n "s/^$1=//p" "$file" | tail -n 1; }
pid="$(value CQRSDAPR_APPHOST_PID)"
app="$(value CQRSDAPR_QUERY_APP_ID)"
sidecar="$(value CQRSDAPR_QUERY_SIDECAR)"
token="$(value DAPR_API_TOKEN)"
if [[ -z $pid || -z $app || -z $sidecar || -z $token ]]; then
  echo "error: $file lacks CQRSDAPR_APPHOST_PID, CQRSDAPR_QUERY_APP_ID, CQRSDAPR_QUERY_SIDECAR or DAPR_API_TOKEN." >&2
  exit 1
fi
if ! ps -p "$pid" >/dev/null 2>&1; then
  echo "error: $file is stale: the AppHost that wrote it (process $pid) is not running. Start it again." >&2
  exit 1
fi

body="$(mktemp)"
trap 'rm -f "$body"' EXIT
if ! status="$(printf 'dapr-api-token: %s\n' "$token" |
  curl --silent --show-error --max-time 60 --output "$body" --write-out '%{http_code}' --header @- \
    --request "$method" "$sidecar/v1.0/invoke/$app/method/$path")"; then
  echo "error: the query service's sidecar at $sidecar did not answer." >&2
  exit 1
fi

if command -v jq >/dev/null 2>&1 && jq . "$body" 2>/dev/null; then
  :
else
  cat "$body"
  echo
fi
if [[ $status != 2?? ]]; then
  echo "error: $app answered HTTP $status." >&2
  exit 1
fi
