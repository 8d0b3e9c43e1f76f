package drkpbft

import (
	"bufio"
	"fmt"
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
		t.Skip("node is not installed")
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
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("cluster did not start: %q %v", line, err)
	}

	members, consenters := newMembers(t, 4)
	verify := bftBlockVerifier(t, consenters)
	cfg := &fakeOrdererConfig{consenters: consenters, batch: batch}
	tn := &testNet{t: t, verify: verify}
	for i, m := range members {
		s := newSupport(m, cfg, verify)
		c, err := NewChain(s, m.id, NewTCPLink(fmt.Sprintf("127.0.0.1:%d", base+10+i)))
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
	deadline := time.Now().Add(20 * time.Second)
	for {
		counts := make([]int, 4)
		for i, s := range tn.supports {
			for n := uint64(1); n < s.Height(); n++ {
				counts[i] += len(s.Block(n).Data.Data)
			}
		}
		if counts[0] == 21 && counts[1] == 21 && counts[2] == 21 && counts[3] == 21 {
			break
		}
		if counts[0] > 21 {
			t.Fatalf("duplicates ordered: %v", counts)
		}
		if time.Now().After(deadline) {
			t.Fatalf("txs in each ledger: %v, want 21 each", counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
	tn.checkLedgers(0, 1, 2, 3)
}
