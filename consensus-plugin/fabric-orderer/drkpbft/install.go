// Package drkpbft is a Fabric consenter that orders through a local DRKPBFT replica process
// (consensus-plugin/src/fabric/host-link.ts) and writes Fabric blocks signed by a quorum of
// the channel's consenters, so peers accept them as blocks of a "BFT" channel.
package drkpbft

import (
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-lib-go/bccsp"
	"github.com/hyperledger/fabric-lib-go/common/flogging"
	"github.com/hyperledger/fabric-lib-go/common/metrics"
	"github.com/hyperledger/fabric/orderer/consensus"
)

var logger = flogging.MustGetLogger("orderer.consensus.drkpbft")

// Settings are read from the free-form Consensus section of orderer.yaml.
type Settings struct {
	// BFTImplementation selects who serves channels of type "BFT": "drkpbft", or empty for SmartBFT.
	BFTImplementation string
	// DRKPBFTLink is the loopback address (host:port) of the local replica's host link.
	DRKPBFTLink string
}

// ReadSettings picks our keys out of the Consensus section (a map, as viper decodes YAML).
func ReadSettings(section interface{}) (Settings, error) {
	var s Settings
	entries := map[string]interface{}{}
	switch m := section.(type) {
	case map[string]interface{}:
		for k, v := range m {
			entries[strings.ToLower(k)] = v
		}
	case map[interface{}]interface{}:
		for k, v := range m {
			entries[strings.ToLower(fmt.Sprint(k))] = v
		}
	}
	for key, field := range map[string]*string{"bftimplementation": &s.BFTImplementation, "drkpbftlink": &s.DRKPBFTLink} {
		v, present := entries[key]
		if !present {
			continue
		}
		text, isString := v.(string)
		if !isString {
			return s, fmt.Errorf("Consensus.%s must be a string", key)
		}
		*field = text
	}
	if s.BFTImplementation != "" && s.BFTImplementation != "drkpbft" && s.BFTImplementation != "smartbft" {
		return s, fmt.Errorf("Consensus.BFTImplementation %q: expected drkpbft or smartbft", s.BFTImplementation)
	}
	if s.BFTImplementation == "drkpbft" && s.DRKPBFTLink == "" {
		return s, fmt.Errorf("Consensus.BFTImplementation is drkpbft but Consensus.DRKPBFTLink is not set")
	}
	return s, nil
}

// Signer is what the orderer's local signer offers (Fabric's identity.SignerSerializer).
type Signer interface {
	Sign(message []byte) ([]byte, error)
	Serialize() ([]byte, error)
}

// Install is the one call the generated server/main.go makes, right after SmartBFT is
// registered: it replaces consenters["BFT"] when orderer.yaml selects DRKPBFT and leaves
// the table untouched otherwise. A bad setting stops the orderer at start.
func Install(consenters map[string]consensus.Consenter, consensusSection interface{}, signer Signer, csp bccsp.BCCSP, mp metrics.Provider) {
	s, err := ReadSettings(consensusSection)
	if err != nil {
		logger.Panicf("DRKPBFT settings: %s", err)
	}
	if s.BFTImplementation != "drkpbft" {
		return
	}
	c, err := NewConsenter(s, signer, csp, mp)
	if err != nil {
		logger.Panicf("DRKPBFT consenter: %s", err)
	}
	logger.Infof("channels of type BFT are ordered by DRKPBFT through the replica at %s", s.DRKPBFTLink)
	consenters["BFT"] = c
}
