package drkpbft

import (
	"bufio"
	"fmt"
	"github.com/hyperledger/fabric-lib-go/common/metrics/disabled"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Four real DRKPBFT replica processes (the TypeScript protocol behind its host link) and
// four Go chains over fake ConsenterSupports: the ledgers must hold identical blocks that
// pass the peers' BFT block verification. Needs node and the repository's node_modules.
func TestChainsOverRealReplicaProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node processes")
	}
	root, _ := filepath.Abs("../../..")
	tsx := filepath.Join(root, "node_modules", "tsx", "dist", "cjs", "index.cjs")
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: this test runs the TypeScript replicas")
	}
	if _, err := os.Stat(tsx); err != nil {
		t.Skip("run npm ci first (tsx is missing)")
	}
	base := 34000 + (os.Getpid()%500)*20
	cmd := exec.Command("node", "--require", "tsx/cjs", filepath.Join(root, "consensus-plugin/src/fabric/test-cluster.ts"), t.TempDir(), fmt.Sprint(base))
	cmd.Dir = root
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the cluster stops its replicas
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	out := bufio.NewReader(stdout)
	expect := func(want string) {
		line, err := out.ReadString('\n')
		if err != nil || strings.TrimSpace(line) != want {
			t.Fatalf("cluster: got %q (%v), want %q", line, err, want)
		}
	}
	command := func(c string) {
		if _, err := fmt.Fprintln(stdin, c); err != nil {
			t.Fatal(err)
		}
		expect("ok")
	}
	expect("ready")

	members, consenters := newMembers(t, 4)
	verify := bftBlockVerifier(t, consenters)
	cfg := &fakeOrdererConfig{consenters: consenters, batch: batch}
	tn := &testNet{t: t, verify: verify}
	for i, m := range members {
		s := newSupport(m, cfg, verify)
		c, err := NewChain(s, m.id, NewTCPLink(fmt.Sprintf("127.0.0.1:%d", base+10+i)), NewMetrics(&disabled.Provider{}, "ch"))
		if err != nil {
			t.Fatal(err)
		}
		c.Start()
		tn.supports = append(tn.supports, s)
		tn.chains = append(tn.chains, c)
		tn.waitConnected(c)
	}
	t.Cleanup(func() {
		for _, c := range tn.chains {
			c.Halt()
		}
	})
	// 20 txs to every orderer (the gateway), one to orderer 3 only (the peer CLI).
	tn.orderEverywhere(txs("g", 20)...)
	if err := tn.chains[2].Order(envelope("lifecycle", true), 0); err != nil {
		t.Fatal(err)
	}
	tn.waitTxs(21)
	tn.checkLedgers(0, 1, 2, 3)

	// Replica 0 is killed (SIGKILL) and restarted while txs keep coming: its chain reconnects,
	// and the replica replays what it decided but the chain has not applied.
	command("kill 0")
	tn.orderEverywhere(txs("h", 8)...)
	command("restart 0")
	tn.orderEverywhere(txs("i", 8)...)
	tn.waitTxs(37)
	tn.checkLedgers(0, 1, 2, 3)
}

// waitTxs waits until every ledger holds want txs, failing on more (a duplicate).
func (tn *testNet) waitTxs(want int) {
	t := tn.t
	deadline := time.Now().Add(30 * time.Second)
	for {
		counts := make([]int, 4)
		for i, s := range tn.supports {
			for n := uint64(1); n < s.Height(); n++ {
				counts[i] += len(s.Block(n).Data.Data)
			}
		}
		if counts[0] == want && counts[1] == want && counts[2] == want && counts[3] == want {
			return
		}
		for _, n := range counts {
			if n > want {
				t.Fatalf("duplicates ordered: %v", counts)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("txs in each ledger: %v, want %d each", counts, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
