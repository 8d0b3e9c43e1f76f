package drkpbft

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hyperledger/fabric-lib-go/common/metrics/disabled"
	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	ab "github.com/hyperledger/fabric-protos-go-apiv2/orderer"
	"github.com/hyperledger/fabric/protoutil"
)

func init() {
	ResendInterval = 50 * time.Millisecond
	ReconnectInterval = 20 * time.Millisecond
}

type testNet struct {
	t        *testing.T
	cluster  *fakeCluster
	supports []*fakeSupport
	chains   []*Chain
	verify   protoutil.BlockVerifierFunc
}

func newTestNet(t *testing.T, n int, batch *ab.BatchSize) *testNet {
	members, consenters := newMembers(t, n)
	verify := bftBlockVerifier(t, consenters)
	cfg := &fakeOrdererConfig{consenters: consenters, batch: batch}
	tn := &testNet{t: t, cluster: newFakeCluster(), verify: verify}
	for i, m := range members {
		s := newSupport(m, cfg, verify)
		tn.supports = append(tn.supports, s)
		tn.chains = append(tn.chains, nil)
		tn.start(i)
	}
	t.Cleanup(func() {
		for _, c := range tn.chains {
			if c != nil {
				c.Halt()
			}
		}
	})
	return tn
}

func (tn *testNet) start(i int) {
	c, err := NewChain(tn.supports[i], uint32(i+1), &fakeLink{c: tn.cluster, node: i + 1}, NewMetrics(&disabled.Provider{}, "ch"))
	if err != nil {
		tn.t.Fatal(err)
	}
	c.Start()
	tn.chains[i] = c
	tn.waitConnected(c)
}

func (tn *testNet) waitConnected(c *Chain) {
	deadline := time.Now().Add(5 * time.Second)
	for c.WaitReady() != nil {
		if time.Now().After(deadline) {
			tn.t.Fatal("chain never connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// orderEverywhere sends each tx to every chain, as the gateway does under BFT: it succeeds
// when a quorum of orderers accepted (an orderer whose replica is down refuses).
// orderEverywhere sends each tx to every orderer as the gateway does; as Fabric's Broadcast,
// an orderer hands the chain only what passes its filters.
func (tn *testNet) orderEverywhere(txs ...*cb.Envelope) {
	for _, env := range txs {
		accepted := 0
		for i, c := range tn.chains {
			if _, err := tn.supports[i].ProcessNormalMsg(env); err != nil {
				continue
			}
			if c != nil && c.Order(env, 0) == nil {
				accepted++
			}
		}
		if accepted < Quorum(len(tn.chains)) {
			tn.t.Fatalf("only %d orderers accepted the tx", accepted)
		}
	}
}

func (tn *testNet) waitHeight(height uint64, which ...int) {
	deadline := time.Now().Add(10 * time.Second)
	for _, i := range which {
		for tn.supports[i].Height() < height {
			if time.Now().After(deadline) {
				tn.t.Fatalf("orderer %d stuck at height %d, want %d", i+1, tn.supports[i].Height(), height)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// checkLedgers: the same blocks everywhere (header and data), each accepted by the peers' BFT verifier.
func (tn *testNet) checkLedgers(which ...int) {
	ref := tn.supports[which[0]]
	for n := uint64(1); n < ref.Height(); n++ {
		want := ref.Block(n)
		for _, i := range which {
			got := tn.supports[i].Block(n)
			if !bytes.Equal(protoutil.BlockHeaderBytes(got.Header), protoutil.BlockHeaderBytes(want.Header)) {
				tn.t.Fatalf("block %d differs between orderers %d and %d", n, which[0]+1, i+1)
			}
			if err := protoutil.VerifyTransactionsAreWellFormed(got.Data); err != nil {
				tn.t.Fatalf("block %d: %s", n, err)
			}
			if !bytes.Equal(protoutil.ComputeBlockDataHash(got.Data), got.Header.DataHash) {
				tn.t.Fatalf("block %d: data hash", n)
			}
			if err := tn.verify(got.Header, got.Metadata); err != nil {
				tn.t.Fatalf("block %d of orderer %d fails BFT block validation: %s", n, i+1, err)
			}
		}
		if n > 1 && !bytes.Equal(want.Header.PreviousHash, protoutil.BlockHeaderHash(ref.Block(n-1).Header)) {
			tn.t.Fatalf("block %d: previous hash", n)
		}
	}
}

func txs(prefix string, n int) []*cb.Envelope {
	var out []*cb.Envelope
	for i := 0; i < n; i++ {
		out = append(out, envelope(fmt.Sprintf("%s-%d", prefix, i), true))
	}
	return out
}

var batch = &ab.BatchSize{MaxMessageCount: 4, AbsoluteMaxBytes: 1 << 20, PreferredMaxBytes: 1 << 20}

func TestFourOrderersWriteIdenticalQuorumSignedBlocks(t *testing.T) {
	tn := newTestNet(t, 4, batch)
	// 9 valid txs, each sent to all four orderers, and one invalid tx that a Byzantine primary
	// put in the batch without any orderer's Broadcast passing it: blocks of 4, 4, 1.
	tn.orderEverywhere(txs("a", 5)...)
	tn.cluster.inject(envelope("bad", false))
	tn.orderEverywhere(txs("b", 4)...)
	tn.cluster.decide()
	tn.waitHeight(4, 0, 1, 2, 3)
	tn.checkLedgers(0, 1, 2, 3)
	total := 0
	for n := uint64(1); n < 4; n++ {
		total += len(tn.supports[0].Block(n).Data.Data)
	}
	if total != 9 {
		t.Fatalf("%d txs in the ledger, want 9 (each tx id once, the invalid one skipped)", total)
	}
	// Each orderer checked each valid tx once, at Broadcast; at the cut only the one it had not seen.
	for i, s := range tn.supports {
		if got := s.checked(); got != 9+1 {
			t.Fatalf("orderer %d ran the filters %d times, want 10", i+1, got)
		}
	}
	if p := PositionOf(tn.supports[0].Block(3)); p.Seq != 1 || !p.Done() {
		t.Fatalf("last block's position %+v", p)
	}
	// What a restarted orderer's chain support reads from the last block before it hands the
	// chain over (multichannel/chainsupport.go panics when this fails).
	for n := uint64(1); n < 4; n++ {
		md, err := protoutil.GetConsenterMetadataFromBlock(tn.supports[0].Block(n))
		if err != nil {
			t.Fatalf("block %d: Fabric cannot read its consenter metadata: %v", n, err)
		}
		if p := PositionOf(tn.supports[0].Block(n)); !bytes.Equal(md.Value, p.Bytes()) {
			t.Fatalf("block %d: consenter metadata %x, want the position %x", n, md.Value, p.Bytes())
		}
	}
	// A second batch continues the chain.
	tn.orderEverywhere(txs("c", 2)...)
	tn.cluster.decide()
	tn.waitHeight(5, 0, 1, 2, 3)
	tn.checkLedgers(0, 1, 2, 3)
}

// Orderers that sign garbage cannot stop the others, and their own ledgers still get valid
// blocks: their own signature is verified before it counts.
func TestGarbageSigners(t *testing.T) {
	for _, tc := range []struct {
		n       int
		garbage []int
	}{{4, []int{3}}, {7, []int{5, 6}}} { // f = 1 (quorum 3 of 4), f = 2 (quorum 5 of 7)
		t.Run(fmt.Sprintf("n=%d", tc.n), func(t *testing.T) {
			tn := newTestNet(t, tc.n, batch)
			for _, i := range tc.garbage {
				tn.supports[i].garbage = true
			}
			tn.orderEverywhere(txs("a", 9)...)
			tn.cluster.decide()
			all := make([]int, tc.n)
			for i := range all {
				all[i] = i
			}
			tn.waitHeight(4, all...)
			tn.checkLedgers(all...)
		})
	}
}

func TestRestartedOrdererCatchesUp(t *testing.T) {
	tn := newTestNet(t, 4, batch)
	tn.orderEverywhere(txs("a", 2)...)
	tn.cluster.decide()
	tn.waitHeight(2, 0, 1, 2, 3)
	tn.chains[0].Halt()
	tn.chains[0] = nil
	// Ordered while orderer 1 is down: 40 batches of 4 txs → 40 blocks.
	for i := 0; i < 40; i++ {
		tn.orderEverywhere(txs(fmt.Sprintf("b%d", i), 4)...)
		tn.cluster.decide()
	}
	tn.waitHeight(42, 1, 2, 3)
	// Back from its ledger: the replica replays the batches after its last block; the others
	// answer its signatures for the blocks they already wrote, each block at once (one answer
	// per replica per resend interval made this take 20 × ResendInterval).
	started := time.Now()
	tn.start(0)
	tn.waitHeight(42, 0)
	if took := time.Since(started); took > 10*ResendInterval {
		t.Fatalf("catching up 40 blocks took %s (resend interval %s)", took, ResendInterval)
	}
	tn.checkLedgers(0, 1, 2, 3)
}

func TestCutBlockLimits(t *testing.T) {
	var envs [][]byte
	for i := 0; i < 5; i++ {
		envs = append(envs, protoutil.MarshalOrPanic(envelope(fmt.Sprint(i), true)))
	}
	size := uint32(len(envs[0]))
	limits := &ab.BatchSize{MaxMessageCount: 10, AbsoluteMaxBytes: 10 * size, PreferredMaxBytes: 2*size + 1}
	all := func([]byte, *cb.Envelope) bool { return true }
	got, end := CutBlock(envs, 0, limits, all)
	if len(got) != 2 || end != 2 {
		t.Fatalf("PreferredMaxBytes: got %d envelopes, end %d", len(got), end)
	}
	got, end = CutBlock(envs, 4, limits, all)
	if len(got) != 1 || end != 5 {
		t.Fatalf("tail: got %d, end %d", len(got), end)
	}
	limits.AbsoluteMaxBytes = size - 1
	if got, end = CutBlock(envs, 0, limits, all); len(got) != 0 || end != 5 {
		t.Fatalf("oversize envelopes must be skipped: got %d, end %d", len(got), end)
	}
}

func TestQuorumMatchesFabric(t *testing.T) {
	for n, q := range map[int]int{4: 3, 5: 4, 7: 5, 10: 7} {
		if Quorum(n) != q {
			t.Fatalf("Quorum(%d) = %d, want %d", n, Quorum(n), q)
		}
	}
}

func TestSettings(t *testing.T) {
	s, err := ReadSettings(map[string]interface{}{"walDir": "/x", "bftimplementation": "drkpbft", "drkpbftlink": "127.0.0.1:7300"})
	if err != nil || s.BFTImplementation != "drkpbft" || s.DRKPBFTLink != "127.0.0.1:7300" {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := ReadSettings(map[string]interface{}{"BFTImplementation": "drkpbft"}); err == nil {
		t.Fatal("drkpbft without a link must be refused")
	}
	if s, err := ReadSettings(map[string]interface{}{"WALDir": "/x"}); err != nil || s.BFTImplementation != "" {
		t.Fatal("no setting: stock Fabric")
	}
}

func TestPatchScriptNeedsItsAnchorsExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	good := "package server\n\nimport (\n\t\"github.com/hyperledger/fabric/orderer/consensus/smartbft\"\n)\n\nfunc f() {\n" +
		"\tconsenters[\"BFT\"] = smartbft.New(dpmr.Registry(), signer)\n\n\tregistrar.Initialize(consenters)\n}\n"
	for name, text := range map[string]string{
		"good":      good,
		"missing":   bytes.NewBufferString(good).String()[:60],
		"duplicate": good + "\tconsenters[\"BFT\"] = smartbft.New(x)\n",
	} {
		src := filepath.Join(dir, name+".go")
		if err := os.WriteFile(src, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, name+".out")
		err := exec.Command("bash", "../build/patch-main.sh", src, out).Run()
		if (err == nil) != (name == "good") {
			t.Fatalf("%s: patch-main.sh error = %v", name, err)
		}
		if name == "good" {
			patched, _ := os.ReadFile(out)
			if !bytes.Contains(patched, []byte("smartbft.New(dpmr.Registry(), signer)\n\temrdrkpbft.Install(consenters, conf.Consensus, signer, bccsp, metricsProvider)\n")) {
				t.Fatalf("patched file:\n%s", patched)
			}
		}
	}
}
