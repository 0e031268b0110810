#!/usr/bin/env bash
# Builds helm-render offline against Debian's Go sources (apt: golang-go golang-github-masterminds-sprig-dev
# golang-k8s-sigs-yaml-dev). Usage: build.sh OUTPUT_DIR  → OUTPUT_DIR/helm-render
# GOPATH mode (GO111MODULE=off): Debian ships sprig and semver in /usr/share/gocode without their /v3 module paths,
# so a GOPATH in OUTPUT_DIR links github.com/Masterminds/{sprig,semver}/v3 to them; nothing is downloaded.
set -euo pipefail
out="$(mkdir -p "$1" && cd "$1" && pwd)"
src="$(cd "$(dirname "$0")" && pwd)"
gocode=/usr/share/gocode/src
command -v go >/dev/null || { echo "go not found: apt-get install golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev" >&2; exit 3; }
for lib in github.com/Masterminds/sprig github.com/Masterminds/semver sigs.k8s.io/yaml; do
  [ -d "$gocode/$lib" ] || { echo "$gocode/$lib not found: apt-get install golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev" >&2; exit 3; }
done
for lib in sprig semver; do
  mkdir -p "$out/gopath/src/github.com/Masterminds/$lib"
  ln -sfn "$gocode/github.com/Masterminds/$lib" "$out/gopath/src/github.com/Masterminds/$lib/v3"
done
cd "$src"
GO111MODULE=off GOPATH="$out/gopath:/usr/share/gocode" GOCACHE="$out/gocache" GOFLAGS= GOPROXY=off GOTOOLCHAIN=local \
  go build -o "$out/helm-render" .
