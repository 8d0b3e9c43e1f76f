package drkpbft

import "testing"

func TestVerifiedEnvelopesRememberEachOnceAndEvictTheOldest(t *testing.T) {
	v := newVerifiedEnvelopes(2)
	v.add([]byte("a"))
	v.add([]byte("b"))
	if !v.take([]byte("a")) || v.take([]byte("a")) {
		t.Fatal("a checked envelope is found once")
	}
	if v.take([]byte("c")) {
		t.Fatal("an envelope never checked here must be checked in full")
	}
	v.add([]byte("c"))
	v.add([]byte("d")) // evicts b, the oldest left
	if v.take([]byte("b")) || !v.take([]byte("c")) || !v.take([]byte("d")) {
		t.Fatal("the oldest entry goes first once full")
	}
}
