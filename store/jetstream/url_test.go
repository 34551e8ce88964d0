package jetstream

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestParseURL: a store URL gives the servers and the query's settings,
// and a bad setting is refused by name.
func TestParseURL(t *testing.T) {
	jc, err := ParseURL("nats://a:1,nats://b:2?replicas=1&stream=KP2&subject=kp2&grace=5s&node=n-1")
	require.NoError(t, err)
	assert.Equal(t, "nats://a:1,nats://b:2", jc.URL)
	assert.Equal(t, 1, jc.Replicas)
	assert.Equal(t, "KP2", jc.Stream)
	assert.Equal(t, "kp2", jc.Subject)
	assert.Equal(t, 5*time.Second, jc.ElectionGrace)
	assert.Equal(t, "n-1", jc.Node)
	_, err = ParseURL("nats://a:1?grace=soon")
	assert.ErrorContains(t, err, "grace")
	_, err = ParseURL("nats://a:1?node=a.b")
	assert.ErrorContains(t, err, "Node")
}
