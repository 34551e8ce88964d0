package audit

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
	"github.com/knooppunt/knooppunt/store/storetest"
)

// feedFixture is a store whose feed carries n receptions and an empty
// trail.
func feedFixture(t *testing.T, n int) (*pebble.Store, *Log, string, []Entry) {
	t.Helper()
	ctx := context.Background()
	st, err := pebble.Open(ctx, pebble.Config{Dir: filepath.Join(t.TempDir(), "data")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	dir := t.TempDir()
	trail, err := Open(Config{Dir: dir, PruneEvery: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = trail.Close() })
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var want []Entry
	for i := range n {
		e := Entry{Principal: "0384", Action: Received, Remote: "192.0.2.1:1", Time: at.Add(time.Duration(i) * time.Millisecond)}
		m := storetest.Msg("0384", "42420001", "WMO301", fmt.Sprint("O", i), "")
		m.Reception = &store.Reception{At: e.Time, Principal: e.Principal, Remote: e.Remote}
		r, err := st.Put(ctx, m)
		require.NoError(t, err)
		e.MessageID = r.ID.String()
		want = append(want, e)
	}
	return st, trail, dir, want
}

// receivedIn reads the trail's received entries, without chain fields.
func receivedIn(t *testing.T, trail *Log) []Entry {
	t.Helper()
	var out []Entry
	f := Filter{Action: Received, Limit: MaxQueryLimit}
	for {
		page, more, err := trail.Query(context.Background(), f)
		require.NoError(t, err)
		for _, e := range page {
			f.After = e.Seq
			e.Seq, e.Prev, e.Hash = 0, "", ""
			out = append(out, e)
		}
		if !more {
			return out
		}
	}
}

// TestRecoverOnce: after a crash between appending a batch to the trail
// and keeping the trail's head (here: part of the first batch appended,
// no head kept), recovery appends exactly the receptions the trail lacks,
// so each is in the trail once, in order.
func TestRecoverOnce(t *testing.T) {
	ctx := context.Background()
	st, trail, _, want := feedFixture(t, followBatch+300) // two batches
	require.NoError(t, trail.AppendAll(ctx, want[:400]), "the crashed follower's torn batch")
	m, err := NewFollower(st, trail, 0, zerolog.Nop(), nil)
	require.NoError(t, err)

	moved, err := m.Recover(ctx)
	require.NoError(t, err)
	assert.Equal(t, len(want)-400, moved)
	got := receivedIn(t, trail)
	require.Len(t, got, len(want), "every record once")
	for i := range want {
		assert.Equal(t, want[i].MessageID, got[i].MessageID, "entry %d", i)
		assert.True(t, want[i].Time.Equal(got[i].Time), "entry %d keeps its time", i)
		assert.Equal(t, want[i].Remote, got[i].Remote)
	}
	head, ok, err := st.TrailHead(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	feedHead, err := st.Head(ctx)
	require.NoError(t, err)
	seq, hash := trail.Head()
	assert.Equal(t, store.TrailHead{Seq: seq, Hash: hash, Feed: feedHead}, head, "the head and position kept in the store")

	moved, err = m.Recover(ctx)
	require.NoError(t, err)
	assert.Zero(t, moved, "nothing to recover twice")
}

// startFollower starts a follower of st's feed from the position st kept.
func startFollower(t *testing.T, st *pebble.Store, trail *Log, reg prometheus.Registerer) *Follower {
	t.Helper()
	head, _, err := st.TrailHead(context.Background())
	require.NoError(t, err)
	f, err := NewFollower(st, trail, head.Feed, zerolog.Nop(), reg)
	require.NoError(t, err)
	go f.Run()
	return f
}

// TestFollowerRecordsAndKeeps: the follower writes the feed's receptions
// into the trail; a trail that cannot take them leaves them in the feed,
// past the position kept, from which a later follower takes them.
func TestFollowerRecordsAndKeeps(t *testing.T) {
	ctx := context.Background()
	st, trail, dir, want := feedFixture(t, 5)
	m := startFollower(t, st, trail, nil)
	require.Eventually(t, func() bool { return len(receivedIn(t, trail)) == len(want) }, 10*time.Second, 10*time.Millisecond,
		"the follower writes on its own")
	m.Close()
	m.Close() // safe twice
	kept := m.Position()

	more := storetest.Msg("0384", "42420001", "WMO301", "later", "")
	more.Reception = &store.Reception{Principal: "0384", At: time.Now()}
	_, err := st.Put(ctx, more)
	require.NoError(t, err)
	require.NoError(t, trail.Close())
	stopped := startFollower(t, st, trail, nil)
	require.ErrorIs(t, stopped.Flush(ctx), ErrClosed)
	assert.ErrorIs(t, stopped.Ready(ctx), ErrClosed, "not ready while the trail takes nothing")
	stopped.Close()
	head, _, err := st.TrailHead(ctx)
	require.NoError(t, err)
	require.Equal(t, kept, head.Feed, "the position stays while the trail was closed")

	reopened, err := Open(Config{Dir: dir, PruneEvery: -1})
	require.NoError(t, err)
	defer reopened.Close()
	reg := prometheus.NewRegistry()
	again, err := NewFollower(st, reopened, head.Feed, zerolog.Nop(), reg)
	require.NoError(t, err)
	go again.Run()
	require.NoError(t, again.Flush(ctx))
	assert.NoError(t, again.Ready(ctx))
	again.Close()
	families, err := reg.Gather()
	require.NoError(t, err)
	moved := map[string]float64{}
	for _, f := range families {
		moved[f.GetName()] = f.GetMetric()[0].GetCounter().GetValue()
	}
	assert.Equal(t, 1.0, moved["knooppunt_audit_receptions_recorded_total"])
	assert.Equal(t, 0.0, moved["knooppunt_audit_reception_errors_total"])
	assert.Len(t, receivedIn(t, reopened), len(want)+1)
}

// TestFollowerChecksAfterAFailedStep: after a step that failed with part
// of its batch in the trail, the next step appends only the rest.
func TestFollowerChecksAfterAFailedStep(t *testing.T) {
	ctx := context.Background()
	st, trail, _, want := feedFixture(t, 7)
	require.NoError(t, trail.AppendAll(ctx, want[:3]), "what the failed step wrote")
	m, err := NewFollower(st, trail, 0, zerolog.Nop(), nil)
	require.NoError(t, err)
	m.check = true
	_, err = m.catchUp(ctx, false)
	require.NoError(t, err)
	got := receivedIn(t, trail)
	require.Len(t, got, len(want), "each record once")
	for i := range want {
		assert.Equal(t, want[i].MessageID, got[i].MessageID)
	}
	assert.False(t, m.check)
}

// unavailable is a store whose reads of receptions fail with err.
type unavailable struct {
	*pebble.Store
	err error
}

func (u unavailable) Changes(context.Context, uint64, int) ([]store.Change, error) { return nil, u.err }

func (u unavailable) LatestChanges(context.Context, uint64, int) ([]store.Change, error) {
	return nil, u.err
}

// behind is a store read from a replica that has none of its receptions
// yet, while its latest commits hold them all.
type behind struct{ *pebble.Store }

func (behind) Changes(context.Context, uint64, int) ([]store.Change, error) { return nil, nil }

// TestFlushReadsTheLatest: the follower's periodic steps take what a
// replica has, and a flush everything the store committed, so an audit
// query after a flush sees every reception however far a replica lags.
func TestFlushReadsTheLatest(t *testing.T) {
	ctx := context.Background()
	st, trail, _, want := feedFixture(t, 5)
	f, err := NewFollower(behind{st}, trail, 0, zerolog.Nop(), nil)
	require.NoError(t, err)
	n, err := f.catchUp(ctx, false)
	require.NoError(t, err)
	assert.Zero(t, n, "a periodic step finds what the replica has")
	require.NoError(t, f.Flush(ctx))
	assert.Len(t, receivedIn(t, trail), len(want), "a flush finds every reception")
}

// TestFollowerReadyThroughAStoreOutage: a store that cannot answer for now
// (a leader election) leaves the follower ready, for the store's own
// check to judge; any other failure makes it unready.
func TestFollowerReadyThroughAStoreOutage(t *testing.T) {
	ctx := context.Background()
	st, trail, _, _ := feedFixture(t, 1)
	for _, c := range []struct {
		err   error
		ready bool
	}{
		{fmt.Errorf("reading the receptions: %w", store.ErrUnavailable), true},
		{fmt.Errorf("reading the receptions: %w", store.ErrCorrupt), false},
	} {
		f, err := NewFollower(unavailable{st, c.err}, trail, 0, zerolog.Nop(), nil)
		require.NoError(t, err)
		require.ErrorIs(t, f.Flush(ctx), c.err)
		if c.ready {
			assert.NoError(t, f.Ready(ctx), "%v", c.err)
		} else {
			assert.Error(t, f.Ready(ctx), "%v", c.err)
		}
	}
}
