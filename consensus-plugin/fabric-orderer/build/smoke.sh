#!/usr/bin/env bash
# smoke.sh <orderer binary> [base port]: starts the orderer alone on 127.0.0.1 (no channel,
# no network, Fabric's sample MSP as identity and TLS) three times and checks the swap:
#   no setting              → stock Fabric: serves, no DRKPBFT;
#   BFTImplementation: drkpbft + DRKPBFTLink → serves, DRKPBFT registered under "BFT";
#   drkpbft without a link  → refuses to start.
# Each orderer is stopped by its pid.
set -euo pipefail
orderer="$1" port="${2:-27050}"
mod="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sample="$(cd "$mod" && go list -m -f '{{.Dir}}' github.com/hyperledger/fabric)/sampleconfig"
dir=$(mktemp -d /tmp/orderer-smoke-XXXXXX)
trap 'rm -rf "$dir"' EXIT
cp -r "$sample/msp" "$dir/" && chmod -R u+w "$dir"
msp="$dir/msp"
check() { # check <label> <extra orderer.yaml Consensus lines> <expect: serves|drkpbft|refuses>
  local cfg="$dir/$1"; mkdir -p "$cfg"; cp "$sample/orderer.yaml" "$cfg/" && chmod u+w "$cfg/orderer.yaml"
  printf '%b' "$2" >> "$cfg/orderer.yaml"
  FABRIC_CFG_PATH="$cfg" ORDERER_GENERAL_LOCALMSPDIR="$msp" ORDERER_GENERAL_LISTENPORT="$port" \
    ORDERER_GENERAL_TLS_ENABLED=true ORDERER_GENERAL_TLS_PRIVATEKEY="$msp/keystore/key.pem" \
    ORDERER_GENERAL_TLS_CERTIFICATE="$msp/signcerts/peer.pem" ORDERER_GENERAL_TLS_ROOTCAS="[$msp/cacerts/cacert.pem]" \
    ORDERER_OPERATIONS_LISTENADDRESS="127.0.0.1:$((port + 1))" ORDERER_ADMIN_LISTENADDRESS="127.0.0.1:$((port + 2))" \
    ORDERER_FILELEDGER_LOCATION="$cfg/ledger" ORDERER_CONSENSUS_WALDIR="$cfg/wal" ORDERER_CONSENSUS_SNAPDIR="$cfg/snap" \
    "$orderer" > "$cfg/log" 2>&1 &
  local pid=$! ok=1
  for _ in $(seq 50); do grep -q 'Beginning to serve requests' "$cfg/log" && break; kill -0 $pid 2>/dev/null || break; sleep 0.2; done
  case "$3" in
    serves) grep -q 'Beginning to serve requests' "$cfg/log" && ! grep -q 'ordered by DRKPBFT' "$cfg/log" || ok=0 ;;
    drkpbft) grep -q 'Beginning to serve requests' "$cfg/log" && grep -q 'ordered by DRKPBFT' "$cfg/log" || ok=0 ;;
    refuses) ! kill -0 $pid 2>/dev/null && grep -q 'DRKPBFTLink is not set' "$cfg/log" || ok=0 ;;
  esac
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  if [ $ok = 1 ]; then echo "smoke: $1: ok ($3)"; else echo "smoke: $1: FAILED (expected $3); log:" >&2; tail -20 "$cfg/log" >&2; exit 1; fi
}
check stock '' serves
check drkpbft '  BFTImplementation: drkpbft\n  DRKPBFTLink: 127.0.0.1:1\n' drkpbft
check no-link '  BFTImplementation: drkpbft\n' refuses
