package pebble

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/knooppunt/knooppunt/store"
)

// metrics are the store's Prometheus collectors. They carry no party
// labels: the number of parties is not bounded.
type metrics struct {
	reg        prometheus.Registerer
	stats      store.StatsCollector
	commits    store.CommitMetrics
	registered []prometheus.Collector
}

func newMetrics(p *Store, reg prometheus.Registerer) *metrics {
	m := &metrics{
		reg:     reg,
		stats:   store.StatsCollector{Stats: p.Stats, FeedHead: p.feed.head, FeedChanges: p.feed.length},
		commits: store.NewCommitMetrics(),
	}
	if reg != nil {
		for _, c := range append([]prometheus.Collector{m.stats}, m.commits.Collectors()...) {
			if err := reg.Register(c); err != nil {
				p.log.Warn().Err(err).Msg("registering store metrics")
				continue
			}
			m.registered = append(m.registered, c)
		}
	}
	return m
}

func (m *metrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
}
