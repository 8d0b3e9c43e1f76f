package drkpbft

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Frame is one message of the host link (docs/ordering.md, "The host link"): 4-byte
// big-endian length, then JSON. []byte fields travel as base64.
type Frame struct {
	// hello (host→replica): channel, seq = first decided seq wanted.
	// order (host→replica): key (the tx id, DRKPBFT's dedup key), env.
	// applied (host→replica): seq = every batch up to it is in the ledger.
	// signature (both ways): payload; to (host→replica, optional: one peer), from (replica→host).
	// decided (replica→host): seq, envs, in global order without gaps.
	// status (replica→host): leader, view, seats (node ids), on hello and whenever they change.
	Type    string   `json:"type"`
	Channel string   `json:"channel,omitempty"`
	Seq     uint64   `json:"seq"`
	Key     string   `json:"key,omitempty"`
	Env     []byte   `json:"env,omitempty"`
	Envs    [][]byte `json:"envs,omitempty"`
	Payload []byte   `json:"payload,omitempty"`
	To      *int     `json:"to,omitempty"`
	From    *int     `json:"from,omitempty"`
	Leader  *int     `json:"leader,omitempty"`
	View    uint64   `json:"view,omitempty"`
	Seats   []int    `json:"seats,omitempty"`
}

// MaxFrameBytes bounds one frame (a decided batch of large envelopes fits).
const MaxFrameBytes = 256 << 20

// Link opens connections to the local replica; each starts with a hello.
type Link interface {
	Connect(hello Frame) (Conn, error)
}

// Conn is one open link connection.
type Conn interface {
	Send(f Frame) error
	// Recv yields the replica's frames; it is closed when the connection ends.
	Recv() <-chan Frame
	Close()
}

// TCPLink dials the replica's host-link port on loopback.
type TCPLink struct{ Address string }

func NewTCPLink(address string) *TCPLink { return &TCPLink{Address: address} }

func (l *TCPLink) Connect(hello Frame) (Conn, error) {
	nc, err := net.DialTimeout("tcp", l.Address, 2*time.Second)
	if err != nil {
		return nil, err
	}
	c := &tcpConn{nc: nc, w: bufio.NewWriter(nc), recv: make(chan Frame, 1024), done: make(chan struct{})}
	if err := c.Send(hello); err != nil {
		nc.Close()
		return nil, err
	}
	go c.read()
	return c, nil
}

type tcpConn struct {
	nc   net.Conn
	mu   sync.Mutex
	w    *bufio.Writer
	recv chan Frame
	// done is closed by Close: the reader stops even when nobody reads recv any more.
	done      chan struct{}
	closeOnce sync.Once
}

func (c *tcpConn) Send(f Frame) error {
	body, err := json.Marshal(f)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return WriteFrame(c.w, body)
}

func (c *tcpConn) Recv() <-chan Frame { return c.recv }
func (c *tcpConn) Close() {
	c.closeOnce.Do(func() { close(c.done) })
	c.nc.Close()
}

func (c *tcpConn) read() {
	defer close(c.recv)
	r := bufio.NewReader(c.nc)
	for {
		body, err := ReadFrame(r)
		if err != nil {
			c.nc.Close()
			return
		}
		var f Frame
		if json.Unmarshal(body, &f) == nil {
			select {
			case c.recv <- f:
			case <-c.done:
				return
			}
		}
	}
}

// WriteFrame writes one length-prefixed frame and flushes.
func WriteFrame(w *bufio.Writer, body []byte) error {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(body)))
	if _, err := w.Write(n[:]); err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	return w.Flush()
}

// ReadFrame reads one length-prefixed frame.
func ReadFrame(r io.Reader) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > MaxFrameBytes {
		return nil, fmt.Errorf("frame of %d bytes exceeds the limit", size)
	}
	body := make([]byte, size)
	_, err := io.ReadFull(r, body)
	return body, err
}
