#!/bin/sh
# npm-ci.sh FOLDER: installs FOLDER's npm packages, exactly its package-lock.json (npm ci), unless node_modules is already
# newer than package.json and package-lock.json (npm ci writes node_modules/.package-lock.json; that file is the stamp).
# Run by the build (NpmPackages.proj). It holds a lock on FOLDER meanwhile (flock, where installed) and looks again
# under the lock, so two builds never install into one folder at once and the second finds the first one's packages.
set -eu
folder=$1
stamp=node_modules/.package-lock.json
if ! command -v npm >/dev/null 2>&1; then
  echo "npm was not found on PATH, so the npm packages of $folder are not installed: sudo apt-get install -y --no-upgrade nodejs npm, then build again."
  exit 0
fi
cd "$folder"
if command -v flock >/dev/null 2>&1; then
  exec 9<.
  flock 9
fi
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && [ "$stamp" -nt package.json ]; then
  exit 0
fi
echo "npm ci in $folder"
npm ci --no-audit --no-fund --loglevel=error
touch "$stamp"
