#!/usr/bin/env bash
# build.sh <output binary>: builds Fabric's orderer (the pinned version, from go.mod) with
# DRKPBFT as an optional "BFT" consenter. Vendors the module in a build dir outside git,
# generates a patched server/main.go from the vendored source (patch-main.sh) and builds
# with -overlay, so that one file is replaced and no Fabric file is ever committed.
set -euo pipefail
mod="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$1"
work="${EMR_CACHE_DIR:-$HOME/.cache/emr-fabric}/build/fabric-orderer"
rm -rf "$work" && mkdir -p "$work"
cp -r "$mod/go.mod" "$mod/go.sum" "$mod/cmd" "$mod/drkpbft" "$work/"
cd "$work"
export GOTOOLCHAIN=local
GOFLAGS=-mod=mod go mod vendor
main_go=vendor/github.com/hyperledger/fabric/orderer/common/server/main.go
bash "$mod/build/patch-main.sh" "$main_go" "$work/server-main.go"
printf '{"Replace":{"%s":"%s"}}\n' "$work/$main_go" "$work/server-main.go" > overlay.json
go build -mod=vendor -trimpath -overlay overlay.json -o "$out.partial" ./cmd/orderer
mv "$out.partial" "$out"
