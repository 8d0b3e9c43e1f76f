package drkpbft

import "github.com/hyperledger/fabric-lib-go/common/metrics"

// The chain's gauges, per channel, served on the orderer's /metrics beside Fabric's own as
// consensus_drkpbft_*: what the network's readiness check and `status` read (docs/ordering.md).
func gauge(name, help string) metrics.GaugeOpts {
	return metrics.GaugeOpts{
		Namespace: "consensus", Subsystem: "drkpbft", Name: name, Help: help,
		LabelNames: []string{"channel"}, StatsdFormat: "%{#fqname}.%{channel}",
	}
}

var (
	clusterSizeOpts    = gauge("cluster_size", "Consenters of the channel.")
	committedBlockOpts = gauge("committed_block_number", "Number of the last block this orderer wrote.")
	isLeaderOpts       = gauge("is_leader", "1 while the local replica believes this orderer's replica is its region's primary.")
	leaderIDOpts       = gauge("leader_id", "Consenter id of the primary the local replica believes in; 0 while it changes view.")
	viewOpts           = gauge("view", "The local replica's region view.")
	isSeatHolderOpts   = gauge("is_seat_holder", "1 while this orderer's replica holds its region's seat in the top layer.")
	replicaLinkedOpts  = gauge("replica_linked", "1 while the chain is connected to its local replica.")
)

// Metrics are one channel's gauges.
type Metrics struct {
	ClusterSize, CommittedBlock, IsLeader, LeaderID, View, IsSeatHolder, ReplicaLinked metrics.Gauge
}

// NewMetrics makes the gauges of `channel` from the orderer's metrics provider.
func NewMetrics(p metrics.Provider, channel string) *Metrics {
	with := func(o metrics.GaugeOpts) metrics.Gauge { return p.NewGauge(o).With("channel", channel) }
	return &Metrics{
		ClusterSize: with(clusterSizeOpts), CommittedBlock: with(committedBlockOpts), IsLeader: with(isLeaderOpts),
		LeaderID: with(leaderIDOpts), View: with(viewOpts), IsSeatHolder: with(isSeatHolderOpts), ReplicaLinked: with(replicaLinkedOpts),
	}
}

// ConsenterOf maps a DRKPBFT node id to its consenter id: the network numbers replicas from
// 0 in consenter order (network/src/drkpbft-replicas.ts).
func ConsenterOf(node int) uint32 { return uint32(node) + 1 }

// observe records the replica's status frame.
func (m *Metrics) observe(self uint32, f Frame) {
	leader := uint32(0)
	if f.Leader != nil {
		leader = ConsenterOf(*f.Leader)
	}
	m.LeaderID.Set(float64(leader))
	m.IsLeader.Set(boolGauge(leader == self))
	m.View.Set(float64(f.View))
	holds := false
	for _, s := range f.Seats {
		holds = holds || ConsenterOf(s) == self
	}
	m.IsSeatHolder.Set(boolGauge(holds))
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
