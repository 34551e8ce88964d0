package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/knooppunt/knooppunt/store"
)

// Stream info is read at most every infoMaxAge, on scrape, and a read
// waits at most infoTimeout: a scrape must not hang on a cluster without
// a stream leader (nobody answers then).
const (
	infoMaxAge  = 5 * time.Second
	infoTimeout = time.Second
)

// metrics are the store's Prometheus collectors. The knooppunt_store_*
// series the Pebble store exports have the same names, help and labels
// here, so that alerts and dashboards work on either backend; the
// knooppunt_store_stream_* series are the cluster's view of the stream.
// None carries a party label: the number of parties is not bounded.
type metrics struct {
	reg        prometheus.Registerer
	commits    store.CommitMetrics
	registered []prometheus.Collector
	// position is the highest stream sequence the store has seen: the
	// newest record at Open, its own commits, the stream info.
	position atomic.Uint64
}

func newMetrics() *metrics {
	return &metrics{commits: store.NewCommitMetrics()}
}

// register hands the collectors to reg (nil: none). A collector reg
// refuses, e.g. because a second store registers on the same registry, is
// logged and left out rather than failing Open.
func (m *metrics) register(s *Store, reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	m.reg = reg
	// The Pebble store's series under the same names; no
	// knooppunt_store_feed_changes: the stream keeps nothing for followers
	// (TrimFeed trims nothing), its size is knooppunt_store_stream_messages.
	stats := store.StatsCollector{Stats: s.Stats, FeedHead: func() uint64 { return s.metrics.position.Load() }}
	for _, c := range append([]prometheus.Collector{stats, &streamCollector{s: s}}, m.commits.Collectors()...) {
		if err := reg.Register(c); err != nil {
			s.log.Warn().Err(err).Msg("registering store metrics")
			continue
		}
		m.registered = append(m.registered, c)
	}
}

// unregister takes back what register registered; Close calls it once.
func (m *metrics) unregister() {
	for _, c := range m.registered {
		m.reg.Unregister(c)
	}
	m.registered = nil
}

// observeCommit records one acknowledged batch, the operations it carried
// and the stream sequence it ended at.
func (m *metrics) observeCommit(ops int, d time.Duration, seq uint64) {
	m.commits.Observe(ops, d)
	m.seen(seq)
}

// seen raises the known stream position to seq.
func (m *metrics) seen(seq uint64) {
	for {
		cur := m.position.Load()
		if seq <= cur || m.position.CompareAndSwap(cur, seq) {
			return
		}
	}
}

var streamDescs = struct {
	leader, replicas, current, lag, messages, bytes *prometheus.Desc
}{
	leader: prometheus.NewDesc("knooppunt_store_stream_leader",
		"1 when the stream has a leader (it can store), else 0; 0 also when the cluster does not answer.", nil, nil),
	replicas: prometheus.NewDesc("knooppunt_store_stream_replicas",
		"Replicas the stream is configured with.", nil, nil),
	current: prometheus.NewDesc("knooppunt_store_stream_replicas_current",
		"Replicas of the stream, the leader included, that are online and caught up.", nil, nil),
	lag: prometheus.NewDesc("knooppunt_store_stream_replica_lag_operations",
		"Operations the furthest-behind replica lags the leader.", nil, nil),
	messages: prometheus.NewDesc("knooppunt_store_stream_messages",
		"Messages the stream holds (every record, not only message bodies).", nil, nil),
	bytes: prometheus.NewDesc("knooppunt_store_stream_bytes",
		"Bytes the stream holds on each replica.", nil, nil),
}

// streamCollector exports the cluster's view of the stream, from its
// stream info. When the info cannot be read (no answer within infoTimeout,
// an error) only knooppunt_store_stream_leader is exported, as 0: values
// last known would show a healthy stream during an outage.
type streamCollector struct {
	s  *Store
	mu sync.Mutex // one read at a time; later scrapes use its answer
	// at is when info was read, err whether that failed.
	at   time.Time
	info streamInfo
	err  error
}

// streamInfo is the part of $JS.API.STREAM.INFO the metrics use.
type streamInfo struct {
	Error  *apiError `json:"error"`
	Config struct {
		Replicas int `json:"num_replicas"`
	} `json:"config"`
	State struct {
		Msgs    uint64 `json:"messages"`
		Bytes   uint64 `json:"bytes"`
		LastSeq uint64 `json:"last_seq"`
	} `json:"state"`
	// Cluster lists the replicas other than the leader; a single server
	// names itself as the leader and lists none.
	Cluster *struct {
		Leader   string `json:"leader"`
		Replicas []struct {
			Current bool   `json:"current"`
			Offline bool   `json:"offline"`
			Lag     uint64 `json:"lag"`
		} `json:"replicas"`
	} `json:"cluster"`
}

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- streamDescs.leader
	ch <- streamDescs.replicas
	ch <- streamDescs.current
	ch <- streamDescs.lag
	ch <- streamDescs.messages
	ch <- streamDescs.bytes
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	info, err := c.read()
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	if err != nil {
		gauge(streamDescs.leader, 0)
		return
	}
	leader, current, lag := 1.0, 1, uint64(0)
	if info.Cluster != nil {
		if info.Cluster.Leader == "" {
			leader, current = 0, 0
		}
		for _, r := range info.Cluster.Replicas {
			if r.Current && !r.Offline {
				current++
			}
			lag = max(lag, r.Lag)
		}
	}
	gauge(streamDescs.leader, leader)
	gauge(streamDescs.replicas, float64(info.Config.Replicas))
	gauge(streamDescs.current, float64(current))
	gauge(streamDescs.lag, float64(lag))
	gauge(streamDescs.messages, float64(info.State.Msgs))
	gauge(streamDescs.bytes, float64(info.State.Bytes))
}

// read returns the stream info, read again when the last read is older
// than infoMaxAge.
func (c *streamCollector) read() (streamInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < infoMaxAge {
		return c.info, c.err
	}
	c.info, c.err = c.s.streamInfo(infoTimeout)
	c.at = time.Now()
	if c.err != nil {
		c.s.log.Debug().Err(c.err).Msg("reading stream info for metrics")
	} else {
		c.s.metrics.seen(c.info.State.LastSeq)
	}
	return c.info, c.err
}

// streamInfo asks the cluster for the stream's info, waiting at most d.
func (s *Store) streamInfo(d time.Duration) (streamInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.INFO."+s.cfg.Stream, nil)
	if err != nil {
		return streamInfo{}, fmt.Errorf("reading stream info: %w", err)
	}
	if len(m.Data) == 0 {
		return streamInfo{}, fmt.Errorf("reading stream info: status %s %s", m.Header.Get("Status"), m.Header.Get("Description"))
	}
	var info streamInfo
	if err := json.Unmarshal(m.Data, &info); err != nil {
		return streamInfo{}, fmt.Errorf("reading stream info: decoding response: %w", err)
	}
	if info.Error != nil {
		return streamInfo{}, fmt.Errorf("reading stream info: %w", info.Error)
	}
	if info.Config.Replicas == 0 {
		return streamInfo{}, errors.New("reading stream info: response without configuration")
	}
	return info, nil
}
