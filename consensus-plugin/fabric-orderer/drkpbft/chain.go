package drkpbft

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric/orderer/consensus"
	"github.com/hyperledger/fabric/protoutil"
	"google.golang.org/protobuf/proto"
)

// Timing of the chain's loop; variables so tests can shorten them.
var (
	ResendInterval    = time.Second
	ReconnectInterval = 500 * time.Millisecond
)

// How far ahead of the block being signed signatures are buffered (a lagging replica's peers are ahead).
const aheadBlocks = 1024

// A lagging replica asks for one block at a time; this bounds what the answer limiter keeps.
const maxAnswered = 4096

type answerKey struct {
	to    int
	block uint64
}

// Envelopes remembered as checked at Broadcast (verified.go): a few seconds of heavy load.
const verifiedCapacity = 1 << 16

// Chain orders a channel's envelopes through the local DRKPBFT replica and writes the
// decided batches as blocks signed by a quorum of consenters.
type Chain struct {
	support  consensus.ConsenterSupport
	self     uint32
	link     Link
	metrics  *Metrics
	verifier *Verifier
	quorum   int
	// Envelopes this orderer's Broadcast already passed through the channel's filters.
	verified *verifiedEnvelopes

	mu   sync.Mutex
	conn Conn // nil while the link is down

	haltC  chan struct{}
	doneC  chan struct{}
	halted sync.Once

	// Signatures of blocks not yet being signed here, unverified: block → consenter → signature.
	ahead map[uint64]map[uint32]Signature
	// The block being signed: waits for a quorum of verified signatures.
	current *pending
	// Decided batches received and not yet fully written.
	queue []Frame
	// Index in queue[0] of the next envelope to place.
	offset int
	// When each lagging replica was last answered for each block: one answer per block per
	// resend interval, so a Byzantine peer cannot make us sign in a loop, while a restarted
	// one catching up many blocks gets each at once (per replica only, that took a second per block).
	answered map[answerKey]time.Time
}

type pending struct {
	block *cb.Block
	value []byte
	pos   Position
	// own is this orderer's signature, re-sent until the block is written.
	own  []byte
	sigs map[uint32][]byte
}

var _ consensus.Chain = (*Chain)(nil)

func NewChain(support consensus.ConsenterSupport, self uint32, link Link, m *Metrics) (*Chain, error) {
	consenters := support.SharedConfig().Consenters()
	v, err := NewVerifier(consenters)
	if err != nil {
		return nil, err
	}
	m.ClusterSize.Set(float64(len(consenters)))
	m.CommittedBlock.Set(float64(support.Height() - 1))
	return &Chain{
		support: support, self: self, link: link, metrics: m, verifier: v, quorum: Quorum(len(consenters)), verified: newVerifiedEnvelopes(verifiedCapacity),
		haltC: make(chan struct{}), doneC: make(chan struct{}), ahead: map[uint64]map[uint32]Signature{}, answered: map[answerKey]time.Time{},
	}, nil
}

func (c *Chain) Start() { go c.run() }

func (c *Chain) Halt() {
	c.halted.Do(func() { close(c.haltC) })
	<-c.doneC
}

// Errored is closed once the chain halted (Deliver then ends its streams).
func (c *Chain) Errored() <-chan struct{} { return c.haltC }

// WaitReady: Broadcast refuses envelopes (SERVICE_UNAVAILABLE) while the replica is unreachable.
func (c *Chain) WaitReady() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return errors.New("the DRKPBFT replica is not connected")
	}
	return nil
}

// Order hands the envelope to the replica, keyed by its tx id: DRKPBFT orders each key at
// most once, so the gateway sending a tx to every orderer does not duplicate it. Broadcast
// calls Order only for an envelope that passed the channel's filters: it is remembered so.
func (c *Chain) Order(env *cb.Envelope, _ uint64) error {
	raw, err := proto.Marshal(env)
	if err != nil {
		return err
	}
	c.verified.add(raw)
	key := ""
	if ch, err := protoutil.ChannelHeader(env); err == nil {
		key = ch.TxId
	}
	if key == "" {
		sum := sha256.Sum256(raw)
		key = hex.EncodeToString(sum[:])
	}
	return c.send(Frame{Type: "order", Key: key, Env: raw})
}

// Configure: the consenter set and the channel config are static under DRKPBFT.
func (c *Chain) Configure(*cb.Envelope, uint64) error {
	return errors.New("channel config updates are not supported under DRKPBFT (static consenter set)")
}

func (c *Chain) send(f Frame) error {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return errors.New("the DRKPBFT replica is not connected")
	}
	return conn.Send(f)
}

func (c *Chain) setConn(conn Conn) {
	c.mu.Lock()
	c.conn = conn
	c.mu.Unlock()
	c.metrics.ReplicaLinked.Set(boolGauge(conn != nil))
	if conn == nil {
		c.metrics.IsLeader.Set(0) // unknown until the replica reports again
	}
}

// run keeps a connection to the replica and serves it; after a disconnect it resumes from
// the ledger, so nothing depends on what was in memory.
func (c *Chain) run() {
	defer close(c.doneC)
	for {
		last := c.support.Block(c.support.Height() - 1)
		pos := PositionOf(last)
		from := pos.Seq + 1
		c.offset = 0
		if !pos.Done() {
			from, c.offset = pos.Seq, int(pos.End)
		}
		c.queue, c.current = nil, nil
		conn, err := c.link.Connect(Frame{Type: "hello", Channel: c.support.ChannelID(), Seq: from})
		if err == nil {
			c.setConn(conn)
			err = c.serve(conn, from)
			c.setConn(nil)
			conn.Close()
			if err == nil {
				return
			}
			logger.Warningf("[channel: %s] replica link: %s; reconnecting", c.support.ChannelID(), err)
		}
		select {
		case <-c.haltC:
			return
		case <-time.After(ReconnectInterval):
		}
	}
}

// serve handles one connection until it ends (error) or the chain halts (nil).
func (c *Chain) serve(conn Conn, next uint64) error {
	resend := time.NewTicker(ResendInterval)
	defer resend.Stop()
	for {
		if err := c.advance(conn); err != nil {
			return err
		}
		select {
		case <-c.haltC:
			return nil
		case <-resend.C:
			if c.current != nil {
				c.sendOwn(conn, c.current, c.current.own, nil, false)
			}
		case f, ok := <-conn.Recv():
			if !ok {
				return errors.New("connection closed")
			}
			switch f.Type {
			case "decided":
				if f.Seq < next {
					continue // replayed and already queued or written
				}
				if f.Seq > next {
					return fmt.Errorf("decided batch %d arrived, expected %d", f.Seq, next)
				}
				c.queue = append(c.queue, f)
				next++
			case "signature":
				c.receive(conn, f)
			case "status":
				c.metrics.observe(c.self, f)
			}
		}
	}
}

// advance starts signing the next block when none is pending, skipping batches that yield
// no block; it writes the pending block once a quorum of signatures verified.
func (c *Chain) advance(conn Conn) error {
	for {
		if c.current != nil {
			if len(c.current.sigs) < c.quorum {
				return nil
			}
			if err := c.write(conn); err != nil {
				return err
			}
			continue
		}
		if len(c.queue) == 0 {
			return nil
		}
		batch := c.queue[0]
		envs, end := CutBlock(batch.Envs, c.offset, c.support.SharedConfig().BatchSize(), c.accept)
		c.offset = end
		if len(envs) == 0 { // nothing valid left in this batch
			c.queue, c.offset = c.queue[1:], 0
			continue
		}
		pos := Position{Seq: batch.Seq, End: uint32(end), Total: uint32(len(batch.Envs))}
		c.startBlock(conn, c.support.CreateNextBlock(envs), pos)
		if pos.Done() {
			c.queue, c.offset = c.queue[1:], 0
		}
	}
}

// accept: the envelope passes the channel's filters, as on every replica (the config never
// changes): checked at this orderer's Broadcast already, or now.
func (c *Chain) accept(raw []byte, env *cb.Envelope) bool {
	if c.verified.take(raw) {
		return true
	}
	_, err := c.support.ProcessNormalMsg(env)
	return err == nil
}

func (c *Chain) startBlock(conn Conn, block *cb.Block, pos Position) {
	p := &pending{block: block, value: MetadataValue(c.lastConfig(), pos), pos: pos, sigs: map[uint32][]byte{}}
	c.current = p
	own := c.sign(p.value, block.Header)
	p.own = own
	c.sendOwn(conn, p, own, nil, false)
	// Counted only if it verifies: a faulty signer must not spoil the quorum we write.
	c.add(Signature{Block: block.Header.Number, Consenter: c.self, Value: own}, c.self)
	for id, s := range c.ahead[block.Header.Number] {
		c.add(s, id)
	}
	for n := range c.ahead {
		if n <= block.Header.Number {
			delete(c.ahead, n)
		}
	}
}

// lastConfig is the number of the channel's last config block (no config updates: it stays put).
func (c *Chain) lastConfig() uint64 {
	last := c.support.Block(c.support.Height() - 1)
	if protoutil.IsConfigBlock(last) {
		return last.Header.Number
	}
	n, err := protoutil.GetLastConfigIndexFromBlock(last)
	if err != nil {
		return 0
	}
	return n
}

func (c *Chain) sign(value []byte, header *cb.BlockHeader) []byte {
	sig, err := c.support.Sign(SignedPayload(value, c.self, header))
	if err != nil {
		logger.Panicf("signing a block: %s", err)
	}
	return sig
}

func (c *Chain) sendOwn(conn Conn, p *pending, sig []byte, to *int, reply bool) {
	s := Signature{Block: p.block.Header.Number, Consenter: c.self, Value: sig, Reply: reply}
	payload, _ := json.Marshal(s)
	if err := conn.Send(Frame{Type: "signature", Payload: payload, To: to}); err != nil {
		logger.Debugf("sending a signature: %s", err)
	}
}

// receive takes a peer's signature: for the pending block it is verified and counted; for
// a later block it waits; for a written block, the sender lags and gets ours in reply.
func (c *Chain) receive(conn Conn, f Frame) {
	var s Signature
	if json.Unmarshal(f.Payload, &s) != nil || s.Consenter == c.self {
		return
	}
	var current uint64
	if c.current != nil {
		current = c.current.block.Header.Number
	} else {
		current = c.support.Height()
	}
	switch {
	case c.current != nil && s.Block == current:
		c.add(s, s.Consenter)
	case s.Block >= current && s.Block < current+aheadBlocks:
		if c.ahead[s.Block] == nil {
			c.ahead[s.Block] = map[uint32]Signature{}
		}
		c.ahead[s.Block][s.Consenter] = s
	case s.Block < c.support.Height() && !s.Reply && f.From != nil:
		c.answer(conn, s.Block, f.From)
	}
}

func (c *Chain) add(s Signature, id uint32) {
	p := c.current
	if s.Consenter != id || p.sigs[id] != nil {
		return
	}
	if err := c.verifier.Verify(id, SignedPayload(p.value, id, p.block.Header), s.Value); err != nil {
		logger.Warningf("[channel: %s] block %d: signature of consenter %d refused: %s", c.support.ChannelID(), s.Block, id, err)
		return
	}
	p.sigs[id] = s.Value
}

// answer re-signs a block we wrote for a replica that is catching up (the payload is deterministic).
func (c *Chain) answer(conn Conn, number uint64, to *int) {
	key := answerKey{to: *to, block: number}
	if time.Since(c.answered[key]) < ResendInterval/2 {
		return
	}
	if len(c.answered) >= maxAnswered {
		for k, at := range c.answered {
			if time.Since(at) >= ResendInterval/2 {
				delete(c.answered, k)
			}
		}
	}
	c.answered[key] = time.Now()
	block := c.support.Block(number)
	md, err := protoutil.GetMetadataFromBlock(block, cb.BlockMetadataIndex_SIGNATURES)
	if block == nil || err != nil || len(md.Value) == 0 {
		return
	}
	p := &pending{block: block, value: md.Value}
	c.sendOwn(conn, p, c.sign(md.Value, block.Header), to, true)
}

// write puts the quorum's signatures into SIGNATURES (so the block writer does not re-sign),
// checks the block as peers will, writes it and tells the replica what is applied.
func (c *Chain) write(conn Conn) error {
	p := c.current
	ids := make([]uint32, 0, len(p.sigs))
	for id := range p.sigs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	md := &cb.Metadata{Value: p.value}
	for _, id := range ids[:c.quorum] {
		md.Signatures = append(md.Signatures, &cb.MetadataSignature{IdentifierHeader: IdentifierHeader(id), Signature: p.sigs[id]})
	}
	p.block.Metadata.Metadata[cb.BlockMetadataIndex_SIGNATURES] = protoutil.MarshalOrPanic(md)
	if verify := c.support.SignatureVerifier(); verify != nil {
		if err := verify(p.block.Header, p.block.Metadata); err != nil {
			return fmt.Errorf("block %d fails the channel's block validation: %w", p.block.Header.Number, err)
		}
	}
	c.support.WriteBlockSync(p.block, p.value)
	c.metrics.CommittedBlock.Set(float64(p.block.Header.Number))
	c.current = nil
	// Batches before this block's are in the ledger (this one too when the block completes it).
	applied := p.pos.Seq - 1
	if p.pos.Done() {
		applied = p.pos.Seq
	}
	if applied > 0 {
		_ = conn.Send(Frame{Type: "applied", Seq: applied})
	}
	return nil
}
