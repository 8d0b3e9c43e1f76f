#!/usr/bin/env bash
# Builds the pinned Fabric, Fabric CA and Kubo (IPFS) binaries from the Go module proxy
# into a cache outside git. Idempotent: when every pinned binary is present, nothing is built.
#
# The pins live in network/tools/*/go.mod (Go `tool` directives, checksums in go.sum).
# Fabric's module path has no /v3, so its v3 tags are not Go versions: it is pinned by
# the pseudo-version of its release commit (see docs/operations.md, "Pinned versions").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Keep in sync with network/src/paths.ts (binDir).
BIN_DIR="${EMR_CACHE_DIR:-$HOME/.cache/emr-fabric}/bin/$(cat "$here/tools/fabric/go.mod" "$here/tools/fabric-ca/go.mod" | sha256sum | cut -c1-12)"
# Kubo has its own directory so a Kubo pin change never rebuilds Fabric (network/src/paths.ts: kuboBin).
KUBO_DIR="${EMR_CACHE_DIR:-$HOME/.cache/emr-fabric}/bin/kubo-$(sha256sum < "$here/tools/kubo/go.mod" | cut -c1-12)"

tools_fabric=(cmd/peer cmd/configtxgen cmd/osnadmin)
# The orderer is Fabric's, built from consensus-plugin/fabric-orderer with DRKPBFT as an optional
# BFT consenter (docs/ordering.md); every ordering mode runs it. Rebuilt when its sources change.
orderer_mod="$here/../consensus-plugin/fabric-orderer"
orderer_key=$( (cd "$orderer_mod" && find go.mod go.sum cmd drkpbft build -type f ! -name '*_test.go' | LC_ALL=C sort | xargs sha256sum; cat "$here/tools/fabric/go.mod") | sha256sum | cut -c1-16)
tools_ca=(cmd/fabric-ca-server cmd/fabric-ca-client)

command -v go >/dev/null || { echo "install-binaries: Go is required (go not on PATH)" >&2; exit 1; }

missing=0
for t in "${tools_fabric[@]}" "${tools_ca[@]}"; do [ -x "$BIN_DIR/$(basename "$t")" ] || missing=1; done
[ -x "$BIN_DIR/orderer" ] && [ "$(cat "$BIN_DIR/orderer.src" 2>/dev/null)" = "$orderer_key" ] || missing=1
for f in core.yaml orderer.yaml; do [ -f "$BIN_DIR/config/$f" ] || missing=1; done
[ -x "$KUBO_DIR/ipfs" ] || missing=1
if [ $missing -eq 0 ]; then
  echo "install-binaries: pinned binaries present in $BIN_DIR (nothing to build)"
  exit 0
fi
command -v gcc >/dev/null || { echo "install-binaries: gcc is required (fabric-ca uses cgo for sqlite)" >&2; exit 1; }

mkdir -p "$BIN_DIR"
export GOFLAGS="-mod=readonly -trimpath" GOTOOLCHAIN=local CGO_ENABLED=1
total=$(( ${#tools_fabric[@]} + ${#tools_ca[@]} + 2 )); step=0
build() { # build <tools module dir> <module> <package dir>
  step=$((step + 1)); local name t0=$SECONDS; name=$(basename "$3")
  if [ -x "$BIN_DIR/$name" ]; then echo "install-binaries: [$step/$total] $name already built"; return; fi
  echo "install-binaries: [$step/$total] building $name from $2 (the first build takes minutes) ..."
  (cd "$here/tools/$1" && GOBIN="$BIN_DIR.partial" go install "$2/$3")
  mv "$BIN_DIR.partial/$name" "$BIN_DIR/$name"
  echo "install-binaries: [$step/$total] $name built in $((SECONDS - t0))s"
}
for t in "${tools_fabric[@]}"; do build fabric github.com/hyperledger/fabric "$t"; done
step=$((step + 1))
if [ -x "$BIN_DIR/orderer" ] && [ "$(cat "$BIN_DIR/orderer.src" 2>/dev/null)" = "$orderer_key" ]; then echo "install-binaries: [$step/$total] orderer already built"; else
  t0=$SECONDS; echo "install-binaries: [$step/$total] building orderer (Fabric's, with the DRKPBFT consenter) ..."
  GOFLAGS= bash "$orderer_mod/build/build.sh" "$BIN_DIR/orderer.new"
  # Installed only if it runs as stock Fabric without the setting and as DRKPBFT with it.
  "$BIN_DIR/orderer.new" version >/dev/null
  GOFLAGS= bash "$orderer_mod/build/smoke.sh" "$BIN_DIR/orderer.new" || { rm -f "$BIN_DIR/orderer.new"; exit 1; }
  mv "$BIN_DIR/orderer.new" "$BIN_DIR/orderer"
  echo "$orderer_key" > "$BIN_DIR/orderer.src"
  echo "install-binaries: [$step/$total] orderer built in $((SECONDS - t0))s"
fi
for t in "${tools_ca[@]}"; do build fabric-ca github.com/hyperledger/fabric-ca "$t"; done
rmdir "$BIN_DIR.partial" 2>/dev/null || true
# Kubo: from our tools module (its own go.mod has `exclude` lines, so `go install ...@version`
# is refused); CGO off, as Kubo's releases are built.
step=$((step + 1))
if [ -x "$KUBO_DIR/ipfs" ]; then echo "install-binaries: [$step/$total] ipfs already built"; else
  t0=$SECONDS; echo "install-binaries: [$step/$total] building ipfs (Kubo) from github.com/ipfs/kubo (the first build takes minutes) ..."
  mkdir -p "$KUBO_DIR"
  (cd "$here/tools/kubo" && CGO_ENABLED=0 GOBIN="$KUBO_DIR.partial" go install github.com/ipfs/kubo/cmd/ipfs)
  mv "$KUBO_DIR.partial/ipfs" "$KUBO_DIR/ipfs"; rmdir "$KUBO_DIR.partial"
  echo "install-binaries: [$step/$total] ipfs built in $((SECONDS - t0))s"
fi
# The default node configuration of the same pinned Fabric source, as in a release's
# config/ directory; the launcher overrides what the topology decides.
fabric_src=$(cd "$here/tools/fabric" && go list -m -f '{{.Dir}}' github.com/hyperledger/fabric)
mkdir -p "$BIN_DIR/config"
cp "$fabric_src/sampleconfig/core.yaml" "$fabric_src/sampleconfig/orderer.yaml" "$BIN_DIR/config/"
chmod u+w "$BIN_DIR/config/"*
echo "install-binaries: all binaries in $BIN_DIR and $KUBO_DIR"
