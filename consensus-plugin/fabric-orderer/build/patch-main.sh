#!/usr/bin/env bash
# patch-main.sh <fabric server/main.go> <output>: writes a copy of Fabric's
# orderer/common/server/main.go that, right after SmartBFT is registered as consenters["BFT"],
# lets our package replace it (drkpbft.Install: only when orderer.yaml asks for DRKPBFT).
# Fails loudly unless each anchor occurs exactly once, so a Fabric upgrade cannot silently
# build a stock orderer.
set -euo pipefail
src="$1" out="$2"
import_anchor='	"github.com/hyperledger/fabric/orderer/consensus/smartbft"'
bft_anchor='	consenters["BFT"] = smartbft.New('
for anchor in "$import_anchor" "$bft_anchor"; do
  n=$(grep -cF -- "$anchor" "$src" || true)
  if [ "$n" != 1 ]; then
    echo "patch-main: anchor found $n times (expected exactly once) in $src: $anchor" >&2
    exit 1
  fi
done
awk -v ia="$import_anchor" -v ba="$bft_anchor" '
  { print }
  $0 == ia { print "\temrdrkpbft \"emr.local/consensus-plugin/fabric-orderer/drkpbft\"" }
  index($0, ba) == 1 { print "\temrdrkpbft.Install(consenters, conf.Consensus, signer, bccsp, metricsProvider)" }
' "$src" > "$out.tmp"
# The import anchor must be a whole line; check both insertions happened.
[ "$(grep -c 'emrdrkpbft' "$out.tmp")" = 2 ] || { echo "patch-main: insertion failed in $src" >&2; rm -f "$out.tmp"; exit 1; }
mv "$out.tmp" "$out"
