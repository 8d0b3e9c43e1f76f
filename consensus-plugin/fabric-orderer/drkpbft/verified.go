package drkpbft

import (
	"crypto/sha256"
	"sync"
)

// verifiedEnvelopes remembers the envelopes this orderer's Broadcast passed through the
// channel's filters (Fabric calls Order only for those), by the SHA-256 of their bytes. The
// gateway sends every transaction to every orderer, so nearly every envelope of a decided
// batch was checked here already, and checking it again when the block is cut would verify
// its creator's signature and identity a second time. An envelope not found here (sent to
// other orderers only, or forgotten) is checked in full. Bounded: once full, each new entry
// evicts the oldest; a forgotten entry only costs the full check.
type verifiedEnvelopes struct {
	mu   sync.Mutex
	seen map[[sha256.Size]byte]struct{}
	ring [][sha256.Size]byte
	next int
}

func newVerifiedEnvelopes(capacity int) *verifiedEnvelopes {
	return &verifiedEnvelopes{seen: make(map[[sha256.Size]byte]struct{}, capacity), ring: make([][sha256.Size]byte, capacity)}
}

// add records envelope bytes that passed the filters.
func (v *verifiedEnvelopes) add(raw []byte) {
	sum := sha256.Sum256(raw)
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, dup := v.seen[sum]; dup {
		return
	}
	delete(v.seen, v.ring[v.next]) // the oldest (or the zero key: absent)
	v.ring[v.next] = sum
	v.next = (v.next + 1) % len(v.ring)
	v.seen[sum] = struct{}{}
}

// take reports whether these bytes passed the filters here, and forgets them (an envelope is placed once).
func (v *verifiedEnvelopes) take(raw []byte) bool {
	sum := sha256.Sum256(raw)
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.seen[sum]
	delete(v.seen, sum)
	return ok
}
