package store

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CommitMetrics are the knooppunt_store_commit_* histograms, under the same
// names, help and buckets for every backend.
type CommitMetrics struct {
	Operations prometheus.Histogram // operations one synced commit carried
	Duration   prometheus.Histogram // time to apply and durably commit one group
}

// NewCommitMetrics makes the histograms, unregistered.
func NewCommitMetrics() CommitMetrics {
	return CommitMetrics{
		Operations: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "knooppunt", Subsystem: "store", Name: "commit_operations",
			Help:    "Operations carried by one synced commit.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "knooppunt", Subsystem: "store", Name: "commit_duration_seconds",
			Help:    "Time to apply and durably commit one group.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 14),
		}),
	}
}

// Collectors are the histograms, for a registry.
func (c CommitMetrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{c.Operations, c.Duration}
}

// Observe records one synced commit and the operations it carried.
func (c CommitMetrics) Observe(ops int, d time.Duration) {
	c.Operations.Observe(float64(ops))
	c.Duration.Observe(d.Seconds())
}

// StatsCollector exports a backend's Stats and feed as the
// knooppunt_store_* series, under the same names, help and labels for every
// backend, so that alerts and dashboards read either.
type StatsCollector struct {
	Stats    func() Stats
	FeedHead func() uint64
	// FeedChanges is how many changes the feed keeps for its slowest
	// follower; nil leaves knooppunt_store_feed_changes out (a backend
	// whose feed is not kept for followers).
	FeedChanges func() int64
}

var statDescs = struct {
	pending, quarantined, messages, commits, feed, feedHead *prometheus.Desc
}{
	feed: prometheus.NewDesc("knooppunt_store_feed_changes",
		"Changes the feed holds: those its slowest follower has not yet saved past. Alert when it keeps growing.", nil, nil),
	feedHead: prometheus.NewDesc("knooppunt_store_feed_position",
		"Position of the newest change in the feed.", nil, nil),
	pending: prometheus.NewDesc("knooppunt_store_pending_messages",
		"Messages in mailboxes not yet confirmed.", nil, nil),
	quarantined: prometheus.NewDesc("knooppunt_store_quarantined_messages",
		"Messages in quarantine.", nil, nil),
	messages: prometheus.NewDesc("knooppunt_store_operations_total",
		"Store operations since start, by kind.", []string{"kind"}, nil),
	commits: prometheus.NewDesc("knooppunt_store_commits_total",
		"Synced commits since start.", nil, nil),
}

// Describe implements prometheus.Collector.
func (c StatsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- statDescs.pending
	ch <- statDescs.quarantined
	ch <- statDescs.messages
	ch <- statDescs.commits
	if c.FeedChanges != nil {
		ch <- statDescs.feed
	}
	ch <- statDescs.feedHead
}

// Collect implements prometheus.Collector.
func (c StatsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.Stats()
	ch <- prometheus.MustNewConstMetric(statDescs.pending, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(statDescs.quarantined, prometheus.GaugeValue, float64(s.Quarantined))
	for _, k := range []struct {
		kind string
		v    int64
	}{
		{"put", s.Puts}, {"duplicate", s.Duplicates}, {"conflict", s.Conflicts},
		{"delivery", s.Deliveries}, {"ack", s.Acks}, {"expire", s.Expired}, {"purge", s.Purged},
	} {
		ch <- prometheus.MustNewConstMetric(statDescs.messages, prometheus.CounterValue, float64(k.v), k.kind)
	}
	ch <- prometheus.MustNewConstMetric(statDescs.commits, prometheus.CounterValue, float64(s.Commits))
	if c.FeedChanges != nil {
		ch <- prometheus.MustNewConstMetric(statDescs.feed, prometheus.GaugeValue, float64(c.FeedChanges()))
	}
	ch <- prometheus.MustNewConstMetric(statDescs.feedHead, prometheus.GaugeValue, float64(c.FeedHead()))
}
