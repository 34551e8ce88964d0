package jetstream_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/jetstream/natstest"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// gather returns reg's knooppunt_store_* families by name.
func gather(t *testing.T, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	out := map[string]*dto.MetricFamily{}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "knooppunt_store_") {
			out[f.GetName()] = f
		}
	}
	return out
}

// value is the value of the one series of a gauge or counter family; -1
// if it is absent.
func value(fams map[string]*dto.MetricFamily, name string) float64 {
	f := fams[name]
	if f == nil || len(f.GetMetric()) != 1 {
		return -1
	}
	m := f.GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	reg := prometheus.NewRegistry()
	cfg := jetstream.Config{URL: srv.ClientURL(), Replicas: 1, Registerer: reg,
		Policy: store.Policy{JanitorInterval: time.Hour}}
	s, err := jetstream.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	for i := range 3 {
		_, err := s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", fmt.Sprint("ID-", i), ""))
		require.NoError(t, err)
	}
	_, err = s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "ID-0", ""))
	require.NoError(t, err)
	entries, err := s.List(ctx, "0363", 10)
	require.NoError(t, err)
	require.Len(t, entries, 3)
	require.NoError(t, s.Ack(ctx, "0363", entries[0].ID))

	fams := gather(t, reg)
	assert.Equal(t, 2.0, value(fams, "knooppunt_store_pending_messages"))
	assert.Equal(t, 0.0, value(fams, "knooppunt_store_quarantined_messages"))
	ops := map[string]float64{}
	for _, m := range fams["knooppunt_store_operations_total"].GetMetric() {
		ops[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	assert.Equal(t, map[string]float64{"put": 3, "duplicate": 1, "conflict": 0, "delivery": 3, "ack": 1, "expire": 0, "purge": 0}, ops)
	commits := value(fams, "knooppunt_store_commits_total")
	assert.Greater(t, commits, 0.0)
	for _, name := range []string{"knooppunt_store_commit_operations", "knooppunt_store_commit_duration_seconds"} {
		require.Contains(t, fams, name)
		assert.Equal(t, uint64(commits), fams[name].GetMetric()[0].GetHistogram().GetSampleCount(), "%s: one observation per commit", name)
	}
	assert.Greater(t, value(fams, "knooppunt_store_feed_position"), 0.0)
	assert.NotContains(t, fams, "knooppunt_store_feed_changes", "the stream keeps nothing for followers")
	assert.Equal(t, 1.0, value(fams, "knooppunt_store_stream_leader"))
	assert.Equal(t, 1.0, value(fams, "knooppunt_store_stream_replicas"))
	assert.Equal(t, 1.0, value(fams, "knooppunt_store_stream_replicas_current"))
	assert.Equal(t, 0.0, value(fams, "knooppunt_store_stream_replica_lag_operations"))
	assert.Greater(t, value(fams, "knooppunt_store_stream_messages"), 0.0)
	assert.Greater(t, value(fams, "knooppunt_store_stream_bytes"), 0.0)
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				assert.NotEqual(t, "0363", l.GetValue(), "no party codes in labels")
			}
		}
	}

	// A second store on the same registry keeps its metrics to itself
	// and, closed, leaves the first's registered.
	other, err := jetstream.Open(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, other.Close())
	assert.Equal(t, 2.0, value(gather(t, reg), "knooppunt_store_pending_messages"))

	require.NoError(t, s.Close())
	assert.Empty(t, gather(t, reg), "Close unregisters the collectors")
	require.NoError(t, s.Close())
}

// TestMetricsMatchPebble: the series both backends export have the same
// help, type and labels, so alerts and dashboards read either.
func TestMetricsMatchPebble(t *testing.T) {
	ctx := context.Background()
	pebbleReg, jsReg := prometheus.NewRegistry(), prometheus.NewRegistry()
	p, err := pebble.Open(ctx, pebble.Config{Dir: filepath.Join(t.TempDir(), "data"), Registerer: pebbleReg})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	srv := natstest.Start(t)
	s, err := jetstream.Open(ctx, jetstream.Config{URL: srv.ClientURL(), Replicas: 1, Registerer: jsReg})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	labels := func(f *dto.MetricFamily) []string {
		var out []string
		for _, l := range f.GetMetric()[0].GetLabel() {
			out = append(out, l.GetName())
		}
		return out
	}
	pebble, js := gather(t, pebbleReg), gather(t, jsReg)
	require.NotEmpty(t, pebble)
	for name, want := range pebble {
		if name == "knooppunt_store_feed_changes" {
			continue
		}
		got := js[name]
		if !assert.NotNil(t, got, "%s is exported on JetStream", name) {
			continue
		}
		assert.Equal(t, want.GetHelp(), got.GetHelp(), name)
		assert.Equal(t, want.GetType(), got.GetType(), name)
		assert.Equal(t, len(want.GetMetric()), len(got.GetMetric()), name)
		assert.Equal(t, labels(want), labels(got), name)
	}
}

// TestMetricsCluster: on an R3 cluster every replica is counted current,
// and with two of three servers gone the stream has no leader.
func TestMetricsCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-node NATS cluster")
	}
	ctx := context.Background()
	c := natstest.StartCluster(t, 3)
	reg := prometheus.NewRegistry()
	s, err := jetstream.Open(ctx, jetstream.Config{URL: c.URL(), Replicas: 3, Registerer: reg, RequestTimeout: 2 * time.Second,
		Policy: store.Policy{JanitorInterval: time.Hour}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Put(ctx, storetest.Msg("12345678", "0363", "WMO315", "ID-1", ""))
	require.NoError(t, err)
	c.WaitForStreamCurrent(jetstream.DefaultStream, 10*time.Second)

	var fams map[string]*dto.MetricFamily
	require.Eventually(t, func() bool {
		fams = gather(t, reg)
		return value(fams, "knooppunt_store_stream_replicas_current") == 3
	}, 15*time.Second, 100*time.Millisecond, "every replica current")
	assert.Equal(t, 1.0, value(fams, "knooppunt_store_stream_leader"))
	assert.Equal(t, 3.0, value(fams, "knooppunt_store_stream_replicas"))
	assert.Greater(t, value(fams, "knooppunt_store_stream_messages"), 0.0)

	// Take the leader down first, then whoever leads next: the survivor
	// cannot elect itself without a quorum.
	leader := c.StreamLeader(jetstream.DefaultStream)
	require.GreaterOrEqual(t, leader, 0)
	c.Kill(leader)
	second := (leader + 1) % 3
	if l := c.StreamLeaderBesides(jetstream.DefaultStream, leader); l >= 0 {
		second = l
	}
	c.Kill(second)
	start := time.Now()
	require.Eventually(t, func() bool {
		return value(gather(t, reg), "knooppunt_store_stream_leader") == 0
	}, 30*time.Second, 200*time.Millisecond, "no leader reported")
	t.Logf("leader reported gone after %s", time.Since(start).Round(100*time.Millisecond))
	// A scrape does not wait for the cluster much longer than the info's timeout.
	t0 := time.Now()
	gather(t, reg)
	assert.Less(t, time.Since(t0), 3*time.Second)
}
