package xsd

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// compiledCount is the number of schemas of s compiled so far.
func compiledCount(s *Set) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, e := range s.schemas {
		if e.c != nil {
			n++
		}
	}
	return n
}

// TestLazyCompilesOnFirstUse: a lazy set compiles nothing in Load, one
// schema per berichtsoort met, and gives the verdicts of an eager set.
func TestLazyCompilesOnFirstUse(t *testing.T) {
	s, err := Load(Config{Lazy: true})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.Len(t, s.Soorts(), len(bericht.All()))
	assert.Zero(t, compiledCount(s))

	_, err = s.Validate(generated(t, "WMO301"))
	require.NoError(t, err)
	assert.Equal(t, 1, compiledCount(s))
	_, err = s.Validate(generated(t, "WMO301"))
	require.NoError(t, err)
	assert.Equal(t, 1, compiledCount(s), "compiled once")

	eager := embeddedSet(t)
	for i, m := range mixedMessages(t) {
		assert.Equal(t, verdict(eager.Validate(m)), verdict(s.Validate(m)), "message %d", i)
	}
	assert.Equal(t, len(bericht.All()), compiledCount(s))
}

// TestLazyConcurrentFirstUse: many goroutines meeting every berichtsoort
// for the first time at once compile each schema once and get the verdicts
// of an eager set. Run it with -race once in a while.
func TestLazyConcurrentFirstUse(t *testing.T) {
	msgs := mixedMessages(t)
	eager := embeddedSet(t)
	want := make([]string, len(msgs))
	for i, m := range msgs {
		want[i] = verdict(eager.Validate(m))
	}
	for range 3 {
		s, err := Load(Config{Lazy: true})
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range msgs {
					i := (k + w*5) % len(msgs)
					if got := verdict(s.Validate(msgs[i])); got != want[i] {
						errs <- got + " want " + want[i]
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		assert.Equal(t, len(bericht.All()), compiledCount(s))
		require.NoError(t, s.Close())
		_, err = s.Validate(msgs[0])
		require.ErrorIs(t, err, ErrClosed)
	}
}

// TestLazyBrokenSchema: a schema that does not compile fails an eager Load;
// a lazy set loads, refuses the messages of that berichtsoort as an
// internal failure and validates the others.
func TestLazyBrokenSchema(t *testing.T) {
	dir := t.TempDir()
	for name, data := range bericht.SchemaFiles() {
		if !strings.HasPrefix(name, "iwmo-3.2/") {
			continue
		}
		if filepath.Base(name) == "WMO301.xsd" {
			data = []byte(strings.Replace(string(data), "<xs:element ", "<xs:elephant ", 1))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(name)), data, 0o600))
	}
	_, err := Load(Config{Dir: dir})
	require.ErrorContains(t, err, "WMO301.xsd")

	s, err := Load(Config{Dir: dir, Lazy: true})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Validate(generated(t, "WMO301"))
	e := refusal(t, err)
	assert.Equal(t, CodeInternal, e.Code)
	assert.Contains(t, e.Detail, "WMO301")
	_, err = s.Validate(generated(t, "WMO305"))
	require.NoError(t, err)
	_, err = s.Validate(generated(t, "WMO301"))
	assert.Equal(t, CodeInternal, refusal(t, err).Code, "the failure is kept, not retried")
}
