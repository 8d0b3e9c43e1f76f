package drkpbft

import (
	"testing"

	"github.com/hyperledger/fabric-lib-go/common/metrics"
)

// recordingGauge keeps the last value set, per gauge name.
type recordingGauge struct {
	name   string
	values map[string]float64
}

func (g *recordingGauge) With(...string) metrics.Gauge { return g }
func (g *recordingGauge) Add(d float64)                { g.values[g.name] += d }
func (g *recordingGauge) Set(v float64)                { g.values[g.name] = v }

type recordingProvider struct{ values map[string]float64 }

func (p *recordingProvider) NewCounter(metrics.CounterOpts) metrics.Counter       { return nil }
func (p *recordingProvider) NewHistogram(metrics.HistogramOpts) metrics.Histogram { return nil }
func (p *recordingProvider) NewGauge(o metrics.GaugeOpts) metrics.Gauge {
	return &recordingGauge{name: o.Namespace + "_" + o.Subsystem + "_" + o.Name, values: p.values}
}

func TestStatusFramesBecomeGauges(t *testing.T) {
	p := &recordingProvider{values: map[string]float64{}}
	m := NewMetrics(p, "emr")
	node := func(n int) *int { return &n }
	// Replica node 1 is consenter 2: this orderer (consenter 2) leads and holds the seat.
	m.observe(2, Frame{Type: "status", Leader: node(1), View: 5, Seats: []int{1}})
	want := map[string]float64{"consensus_drkpbft_leader_id": 2, "consensus_drkpbft_is_leader": 1, "consensus_drkpbft_view": 5, "consensus_drkpbft_is_seat_holder": 1}
	for k, v := range want {
		if p.values[k] != v {
			t.Errorf("%s = %v, want %v", k, p.values[k], v)
		}
	}
	// During a view change the replica knows no leader: leader_id 0, nobody leads.
	m.observe(2, Frame{Type: "status", View: 6, Seats: []int{0}})
	if p.values["consensus_drkpbft_leader_id"] != 0 || p.values["consensus_drkpbft_is_leader"] != 0 || p.values["consensus_drkpbft_is_seat_holder"] != 0 {
		t.Errorf("after a leaderless status: %v", p.values)
	}
}
