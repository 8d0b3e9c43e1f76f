package drkpbft

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	ab "github.com/hyperledger/fabric-protos-go-apiv2/orderer"
	"github.com/hyperledger/fabric/common/policies"
	"github.com/hyperledger/fabric/protoutil"
	"google.golang.org/protobuf/proto"
)

// Position is where a block ends in DRKPBFT's global order: it holds envelopes of batch
// Seq up to index End (exclusive) of Total. It is the block's consenter metadata, so a
// restarted chain knows from its ledger which batch to resume from.
type Position struct {
	Seq        uint64
	End, Total uint32
}

// Done: the batch is complete, the next block starts batch Seq+1.
func (p Position) Done() bool { return p.End >= p.Total }

func (p Position) Bytes() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, p.Seq)
	binary.BigEndian.PutUint32(b[8:], p.End)
	binary.BigEndian.PutUint32(b[12:], p.Total)
	return b
}

// PositionOf reads a block's position; a block we did not write (genesis, a join block) is (0, done).
// It reads the consenter metadata as Fabric does (protoutil.GetConsenterMetadataFromBlock, which
// the orderer's chain support calls on the last block at every start): a common.Metadata whose
// Value is the position.
func PositionOf(block *cb.Block) Position {
	md, err := protoutil.GetMetadataFromBlock(block, cb.BlockMetadataIndex_SIGNATURES)
	if err != nil || len(md.Value) == 0 {
		return Position{}
	}
	obm := &cb.OrdererBlockMetadata{}
	if proto.Unmarshal(md.Value, obm) != nil {
		return Position{}
	}
	consenter := &cb.Metadata{}
	if proto.Unmarshal(obm.ConsenterMetadata, consenter) != nil || len(consenter.Value) != 16 {
		return Position{}
	}
	b := consenter.Value
	return Position{Seq: binary.BigEndian.Uint64(b), End: binary.BigEndian.Uint32(b[8:]), Total: binary.BigEndian.Uint32(b[12:])}
}

// CutBlock takes the envelopes of one block from batch envs starting at index from, as every
// replica does alike: invalid envelopes are skipped (accept says which are valid), and the
// block ends at MaxMessageCount envelopes or before PreferredMaxBytes would be exceeded (a
// single envelope over it gets a block of its own; one over AbsoluteMaxBytes is skipped).
func CutBlock(envs [][]byte, from int, limits *ab.BatchSize, accept func(raw []byte, env *cb.Envelope) bool) ([]*cb.Envelope, int) {
	var out []*cb.Envelope
	size := uint32(0)
	i := from
	for ; i < len(envs); i++ {
		raw := envs[i]
		n := uint32(len(raw))
		if n > limits.AbsoluteMaxBytes {
			continue
		}
		if len(out) > 0 && size+n > limits.PreferredMaxBytes {
			break
		}
		env := &cb.Envelope{}
		if proto.Unmarshal(raw, env) != nil || !accept(raw, env) {
			continue
		}
		out = append(out, env)
		size += n
		if uint32(len(out)) >= limits.MaxMessageCount {
			i++
			break
		}
	}
	return out, i
}

// MetadataValue is the OrdererBlockMetadata every consenter signs for a block. Its consenter
// metadata is a marshalled common.Metadata carrying the position: Fabric unmarshals it so at
// every orderer start and panics on anything else (multichannel/chainsupport.go).
func MetadataValue(lastConfig uint64, pos Position) []byte {
	return protoutil.MarshalOrPanic(&cb.OrdererBlockMetadata{
		LastConfig:        &cb.LastConfig{Index: lastConfig},
		ConsenterMetadata: protoutil.MarshalOrPanic(&cb.Metadata{Value: pos.Bytes()}),
	})
}

// IdentifierHeader names the signer by consenter id; no nonce, so every replica can rebuild it.
func IdentifierHeader(consenter uint32) []byte {
	return protoutil.MarshalOrPanic(&cb.IdentifierHeader{Identifier: consenter})
}

// SignedPayload is what a BFT block signature covers (protoutil.BlockSignatureVerifier).
func SignedPayload(value []byte, consenter uint32, header *cb.BlockHeader) []byte {
	out := append([]byte{}, value...)
	out = append(out, IdentifierHeader(consenter)...)
	return append(out, protoutil.BlockHeaderBytes(header)...)
}

// Signature is one consenter's signature of a block, relayed between the replicas.
type Signature struct {
	Block     uint64 `json:"block"`
	Consenter uint32 `json:"consenter"`
	Value     []byte `json:"sig"`
	// Reply: sent in answer to a lagging replica's signature; never answered itself.
	Reply bool `json:"reply,omitempty"`
}

// Verifier checks single signatures against the channel's consenter certificates.
type Verifier struct {
	keys map[uint32]*ecdsa.PublicKey
}

func NewVerifier(consenters []*cb.Consenter) (*Verifier, error) {
	v := &Verifier{keys: map[uint32]*ecdsa.PublicKey{}}
	for _, c := range consenters {
		block, _ := pem.Decode(c.Identity)
		if block == nil {
			return nil, fmt.Errorf("consenter %d: identity is not PEM", c.Id)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("consenter %d: %w", c.Id, err)
		}
		key, ok := cert.PublicKey.(*ecdsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("consenter %d: not an ECDSA key", c.Id)
		}
		v.keys[c.Id] = key
	}
	return v, nil
}

// Verify: a low-S ECDSA signature over SHA-256 of payload by that consenter, as Fabric's MSP checks.
func (v *Verifier) Verify(consenter uint32, payload, sig []byte) error {
	key, ok := v.keys[consenter]
	if !ok {
		return fmt.Errorf("%d is not a consenter", consenter)
	}
	if !isLowS(key.Curve, sig) {
		return errors.New("signature is not low-S")
	}
	digest := sha256.Sum256(payload)
	if !ecdsa.VerifyASN1(key, digest[:], sig) {
		return errors.New("invalid signature")
	}
	return nil
}

func isLowS(curve elliptic.Curve, sig []byte) bool {
	var parsed struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(sig, &parsed); err != nil || parsed.S == nil {
		return false
	}
	half := new(big.Int).Rsh(curve.Params().N, 1)
	return parsed.S.Sign() > 0 && parsed.S.Cmp(half) <= 0
}

// Quorum is Fabric's BFT block quorum for n consenters, the one configtxgen writes into BlockValidation.
func Quorum(n int) int {
	return policies.ComputeBFTQuorum(n, (n-1)/3)
}
