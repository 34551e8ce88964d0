package node

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// feedChanges reads knooppunt_store_feed_changes from the node's metrics.
func feedChanges(t *testing.T, n *Node) string {
	t.Helper()
	_, body := call(t, "GET", n.URL()+"/metrics", "", "", "")
	m := regexp.MustCompile(`(?m)^knooppunt_store_feed_changes (\S+)$`).FindSubmatch(body)
	require.NotNil(t, m, "the metric is exported")
	return string(m[1])
}

// TestFeedIsTrimmed: the store's change feed does not grow without bound:
// with the products on it is trimmed to what their saved state holds, and
// with them off, to its head.
func TestFeedIsTrimmed(t *testing.T) {
	saved := feedTrimInterval
	feedTrimInterval = 20 * time.Millisecond
	t.Cleanup(func() { feedTrimInterval = saved })
	s, _ := bericht.Lookup("WMO301")
	for _, products := range []bool{true, false} {
		t.Run(fmt.Sprintf("products %v", products), func(t *testing.T) {
			n, err := Start(context.Background(), Config{Dev: true, Addr: "127.0.0.1:0",
				Store:   pebble.Config{Dir: filepath.Join(t.TempDir(), "data")},
				Insight: InsightConfig{Enabled: products, SaveEvery: 20 * time.Millisecond},
				Logger:  zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
			require.NoError(t, err)
			defer n.Close()
			for i := range 5 {
				m, err := sample.New(int64(i)).Heen(s, sample.Options{Afzender: "0363", Ontvanger: "12345678", Identificatie: fmt.Sprintf("TRIM%d", i)})
				require.NoError(t, err)
				code, body := call(t, "POST", n.URL()+"/v1/berichten", "dev-0363", "application/xml", string(m.XML))
				require.Equal(t, http.StatusAccepted, code, string(body))
			}
			require.Eventually(t, func() bool { return feedChanges(t, n) == "0" }, 30*time.Second, 10*time.Millisecond,
				"the feed is trimmed once what follows it has saved")
		})
	}
}
