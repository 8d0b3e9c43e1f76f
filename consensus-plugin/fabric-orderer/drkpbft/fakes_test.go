package drkpbft

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-lib-go/bccsp"
	"github.com/hyperledger/fabric-lib-go/bccsp/sw"
	cb "github.com/hyperledger/fabric-protos-go-apiv2/common"
	mspproto "github.com/hyperledger/fabric-protos-go-apiv2/msp"
	ab "github.com/hyperledger/fabric-protos-go-apiv2/orderer"
	"github.com/hyperledger/fabric/common/cauthdsl"
	"github.com/hyperledger/fabric/common/channelconfig"
	"github.com/hyperledger/fabric/common/policies"
	"github.com/hyperledger/fabric/msp"
	"github.com/hyperledger/fabric/orderer/consensus"
	"github.com/hyperledger/fabric/protoutil"
	"google.golang.org/protobuf/proto"
)

// --- identities ---

type member struct {
	id   uint32
	key  *ecdsa.PrivateKey
	cert []byte // PEM
}

func newMembers(t *testing.T, n int) ([]*member, []*cb.Consenter) {
	var ms []*member
	var cs []*cb.Consenter
	for i := 1; i <= n; i++ {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i)), Subject: pkix.Name{CommonName: fmt.Sprintf("orderer%d", i)},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		m := &member{id: uint32(i), key: key, cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
		ms = append(ms, m)
		cs = append(cs, &cb.Consenter{Id: m.id, MspId: "OrdererMSP", Identity: m.cert, Host: "127.0.0.1", Port: uint32(7050 + i)})
	}
	return ms, cs
}

// sign as Fabric's software BCCSP does: ECDSA over SHA-256, low-S.
func (m *member) sign(msg []byte) ([]byte, error) {
	digest := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(rand.Reader, m.key, digest[:])
	if err != nil {
		return nil, err
	}
	half := new(big.Int).Rsh(m.key.Params().N, 1)
	if s.Cmp(half) > 0 {
		s.Sub(m.key.Params().N, s)
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}

// fabricIdentity verifies through Fabric's software BCCSP, as an MSP identity would.
type fabricIdentity struct {
	msp.Identity
	serialized []byte
	key        bccsp.Key
	csp        bccsp.BCCSP
}

func (i *fabricIdentity) Verify(msg, sig []byte) error {
	digest, err := i.csp.Hash(msg, &bccsp.SHA256Opts{})
	if err != nil {
		return err
	}
	ok, err := i.csp.Verify(i.key, sig, digest, nil)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("bad signature")
	}
	return nil
}
func (i *fabricIdentity) Validate() error            { return nil }
func (i *fabricIdentity) ExpiresAt() time.Time       { return time.Now().Add(time.Hour) }
func (i *fabricIdentity) GetMSPIdentifier() string   { return "OrdererMSP" }
func (i *fabricIdentity) Serialize() ([]byte, error) { return i.serialized, nil }
func (i *fabricIdentity) GetIdentifier() *msp.IdentityIdentifier {
	return &msp.IdentityIdentifier{Mspid: "OrdererMSP", Id: string(i.serialized)}
}
func (i *fabricIdentity) SatisfiesPrincipal(p *mspproto.MSPPrincipal) error {
	if p.PrincipalClassification == mspproto.MSPPrincipal_IDENTITY && string(p.Principal) == string(i.serialized) {
		return nil
	}
	return fmt.Errorf("principal not satisfied")
}

type deserializer struct{ csp bccsp.BCCSP }

func (d deserializer) DeserializeIdentity(serialized []byte) (msp.Identity, error) {
	sID := &mspproto.SerializedIdentity{}
	if err := proto.Unmarshal(serialized, sID); err != nil {
		return nil, err
	}
	block, _ := pem.Decode(sID.IdBytes)
	if block == nil {
		return nil, fmt.Errorf("not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := d.csp.KeyImport(cert, &bccsp.X509PublicKeyImportOpts{Temporary: true})
	if err != nil {
		return nil, err
	}
	return &fabricIdentity{serialized: serialized, key: key, csp: d.csp}, nil
}
func (d deserializer) IsWellFormed(*mspproto.SerializedIdentity) error { return nil }

// bftBlockVerifier is what peers run on a BFT channel: configtxgen's BlockValidation policy
// (policies.EncodeBFTBlockVerificationPolicy) evaluated by cauthdsl, inside protoutil's verifier.
func bftBlockVerifier(t *testing.T, consenters []*cb.Consenter) protoutil.BlockVerifierFunc {
	csp, err := sw.NewDefaultSecurityLevelWithKeystore(sw.NewDummyKeyStore())
	if err != nil {
		t.Fatal(err)
	}
	group := &cb.ConfigGroup{Policies: map[string]*cb.ConfigPolicy{policies.BlockValidationPolicyKey: {}}}
	policies.EncodeBFTBlockVerificationPolicy(consenters, group)
	policy, _, err := cauthdsl.NewPolicyProvider(deserializer{csp}).NewPolicy(group.Policies[policies.BlockValidationPolicyKey].Policy.Value)
	if err != nil {
		t.Fatal(err)
	}
	return protoutil.BlockSignatureVerifier(true, consenters, policy)
}

// --- a ConsenterSupport over an in-memory ledger ---

type fakeOrdererConfig struct {
	channelconfig.Orderer
	consenters []*cb.Consenter
	batch      *ab.BatchSize
}

func (o *fakeOrdererConfig) Consenters() []*cb.Consenter { return o.consenters }
func (o *fakeOrdererConfig) BatchSize() *ab.BatchSize    { return o.batch }

type fakeSupport struct {
	consensus.ConsenterSupport // unused methods panic
	m                          *member
	cfg                        *fakeOrdererConfig
	verify                     protoutil.BlockVerifierFunc
	garbage                    bool // signs garbage (a Byzantine orderer)

	mu       sync.Mutex
	ledger   []*cb.Block
	filtered int // ProcessNormalMsg calls
}

func (s *fakeSupport) checked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.filtered
}

func newSupport(m *member, cfg *fakeOrdererConfig, verify protoutil.BlockVerifierFunc) *fakeSupport {
	genesis := protoutil.NewBlock(0, nil)
	genesis.Data = &cb.BlockData{Data: [][]byte{[]byte("genesis")}}
	genesis.Header.DataHash = protoutil.ComputeBlockDataHash(genesis.Data)
	return &fakeSupport{m: m, cfg: cfg, verify: verify, ledger: []*cb.Block{genesis}}
}

func (s *fakeSupport) Sign(msg []byte) ([]byte, error) {
	if s.garbage {
		return []byte("garbage"), nil
	}
	return s.m.sign(msg)
}
func (s *fakeSupport) SharedConfig() channelconfig.Orderer            { return s.cfg }
func (s *fakeSupport) ChannelID() string                              { return "emr" }
func (s *fakeSupport) SignatureVerifier() protoutil.BlockVerifierFunc { return s.verify }
func (s *fakeSupport) ProcessNormalMsg(env *cb.Envelope) (uint64, error) {
	s.mu.Lock()
	s.filtered++
	s.mu.Unlock()
	if string(env.Signature) == "invalid" {
		return 0, fmt.Errorf("refused by the filters")
	}
	return 0, nil
}
func (s *fakeSupport) Height() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return uint64(len(s.ledger))
}
func (s *fakeSupport) Block(n uint64) *cb.Block {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n >= uint64(len(s.ledger)) {
		return nil
	}
	return s.ledger[n]
}
func (s *fakeSupport) CreateNextBlock(envs []*cb.Envelope) *cb.Block {
	last := s.Block(s.Height() - 1)
	data := &cb.BlockData{}
	for _, e := range envs {
		data.Data = append(data.Data, protoutil.MarshalOrPanic(e))
	}
	b := protoutil.NewBlock(last.Header.Number+1, protoutil.BlockHeaderHash(last.Header))
	b.Header.DataHash = protoutil.ComputeBlockDataHash(data)
	b.Data = data
	return b
}
func (s *fakeSupport) WriteBlockSync(b *cb.Block, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(b.Metadata.Metadata[cb.BlockMetadataIndex_SIGNATURES]) == 0 {
		panic("the block writer would sign this block itself")
	}
	s.ledger = append(s.ledger, b)
}

// --- an in-memory DRKPBFT cluster behind the host link ---

type fakeCluster struct {
	mu      sync.Mutex
	decided []Frame // decided[i] has seq i+1
	seen    map[string]bool
	queue   [][]byte // ordered, not yet decided
	conns   map[int]*fakeConn
	applied map[int]uint64
}

func newFakeCluster() *fakeCluster {
	return &fakeCluster{seen: map[string]bool{}, conns: map[int]*fakeConn{}, applied: map[int]uint64{}}
}

// decide closes a batch of everything ordered so far (each tx id once) and streams it.
func (c *fakeCluster) decide() {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := Frame{Type: "decided", Seq: uint64(len(c.decided) + 1), Envs: c.queue}
	c.queue = nil
	c.decided = append(c.decided, f)
	for _, conn := range c.conns {
		conn.deliver(f)
	}
}

// inject puts an envelope into the next batch as a Byzantine primary could: no orderer's Broadcast saw it.
func (c *fakeCluster) inject(env *cb.Envelope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue = append(c.queue, protoutil.MarshalOrPanic(env))
}

type fakeLink struct {
	c    *fakeCluster
	node int
}

func (l *fakeLink) Connect(hello Frame) (Conn, error) {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	conn := &fakeConn{c: c, node: l.node, recv: make(chan Frame, 4096)}
	c.conns[l.node] = conn
	for _, f := range c.decided {
		if f.Seq >= hello.Seq {
			conn.deliver(f)
		}
	}
	return conn, nil
}

type fakeConn struct {
	c      *fakeCluster
	node   int
	recv   chan Frame
	closed bool
}

func (f *fakeConn) deliver(fr Frame) {
	if !f.closed {
		f.recv <- fr
	}
}

func (f *fakeConn) Send(fr Frame) error {
	c := f.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if f.closed {
		return fmt.Errorf("closed")
	}
	switch fr.Type {
	case "order":
		if !c.seen[fr.Key] {
			c.seen[fr.Key] = true
			c.queue = append(c.queue, fr.Env)
		}
	case "applied":
		c.applied[f.node] = fr.Seq
	case "signature":
		from := f.node
		for node, conn := range c.conns {
			if node != f.node && (fr.To == nil || *fr.To == node) {
				conn.deliver(Frame{Type: "signature", Payload: fr.Payload, From: &from})
			}
		}
	}
	return nil
}

func (f *fakeConn) Recv() <-chan Frame { return f.recv }
func (f *fakeConn) Close() {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.recv)
		if f.c.conns[f.node] == f {
			delete(f.c.conns, f.node)
		}
	}
}

func envelope(txID string, valid bool) *cb.Envelope {
	ch := protoutil.MakeChannelHeader(cb.HeaderType_ENDORSER_TRANSACTION, 0, "emr", 0)
	ch.TxId = txID
	payload := protoutil.MarshalOrPanic(&cb.Payload{Header: protoutil.MakePayloadHeader(ch, &cb.SignatureHeader{}), Data: []byte(txID)})
	sig := []byte("sig")
	if !valid {
		sig = []byte("invalid")
	}
	return &cb.Envelope{Payload: payload, Signature: sig}
}
