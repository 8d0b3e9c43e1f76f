package drkpbft

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/hyperledger/fabric-lib-go/bccsp"
	"github.com/hyperledger/fabric-lib-go/common/metrics"
	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"github.com/hyperledger/fabric/common/channelconfig"
	"github.com/hyperledger/fabric/common/crypto"
	"github.com/hyperledger/fabric/orderer/consensus"
	"github.com/hyperledger/fabric/protoutil"
	"google.golang.org/protobuf/proto"
)

// Consenter serves channels of type "BFT" with DRKPBFT. It is a ClusterConsenter (the
// registrar requires one for "BFT") and a MetadataValidator (the consenter set is static).
type Consenter struct {
	settings Settings
	// identity is this orderer's certificate (PEM), as the channel's consenter list holds it.
	identity []byte
	csp      bccsp.BCCSP
	metrics  metrics.Provider
}

var (
	_ consensus.Consenter         = (*Consenter)(nil)
	_ consensus.ClusterConsenter  = (*Consenter)(nil)
	_ consensus.MetadataValidator = (*Consenter)(nil)
)

// NewConsenter reads the orderer's own certificate from its signer.
func NewConsenter(s Settings, signer Signer, csp bccsp.BCCSP, mp metrics.Provider) (*Consenter, error) {
	serialized, err := signer.Serialize()
	if err != nil {
		return nil, err
	}
	sID := &msp.SerializedIdentity{}
	if err := proto.Unmarshal(serialized, sID); err != nil {
		return nil, fmt.Errorf("local identity: %w", err)
	}
	return &Consenter{settings: s, identity: sID.IdBytes, csp: csp, metrics: mp}, nil
}

// HandleChain starts the chain of one channel; this orderer must be one of its consenters.
func (c *Consenter) HandleChain(support consensus.ConsenterSupport, _ *cb.Metadata) (consensus.Chain, error) {
	self, err := selfID(support.SharedConfig().Consenters(), c.identity)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", support.ChannelID(), err)
	}
	return NewChain(support, self, NewTCPLink(c.settings.DRKPBFTLink), NewMetrics(c.metrics, support.ChannelID()))
}

// IsChannelMember: is our certificate among the consenters of the join block's config?
func (c *Consenter) IsChannelMember(joinBlock *cb.Block) (bool, error) {
	if joinBlock == nil {
		return false, errors.New("nil block")
	}
	env, err := protoutil.ExtractEnvelope(joinBlock, 0)
	if err != nil {
		return false, err
	}
	bundle, err := channelconfig.NewBundleFromEnvelope(env, c.csp)
	if err != nil {
		return false, err
	}
	oc, ok := bundle.OrdererConfig()
	if !ok {
		return false, errors.New("no orderer config in the join block")
	}
	_, err = selfID(oc.Consenters(), c.identity)
	return err == nil, nil
}

// ValidateConsensusMetadata accepts a new channel and refuses every update: DRKPBFT's
// membership is fixed by its cluster configuration, so the consenter set is static.
func (c *Consenter) ValidateConsensusMetadata(_, _ channelconfig.Orderer, newChannel bool) error {
	if newChannel {
		return nil
	}
	return errors.New("channel config updates are not supported under DRKPBFT (static consenter set)")
}

// selfID finds our consenter id by certificate (compared sanitized, as SmartBFT does).
func selfID(consenters []*cb.Consenter, identity []byte) (uint32, error) {
	own, err := crypto.SanitizeX509Cert(identity)
	if err != nil {
		return 0, err
	}
	for _, c := range consenters {
		cert, err := crypto.SanitizeX509Cert(c.Identity)
		if err == nil && bytes.Equal(cert, own) {
			return c.Id, nil
		}
	}
	return 0, errors.New("this orderer's certificate is not among the channel's consenters")
}
