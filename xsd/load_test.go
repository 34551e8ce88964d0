package xsd

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/sample"
	"github.com/stretchr/testify/require"
)

// TestSampleMessages: generated messages of all 28 berichtsoorten are valid
// and their header view equals the header the generator wrote.
func TestSampleMessages(t *testing.T) {
	s := embeddedSet(t)
	g := sample.New(7)
	for _, soort := range bericht.All() {
		for i := range 3 {
			m, err := g.Generate(soort, sample.Options{Products: i + 1, Clients: i + 1})
			require.NoError(t, err)
			h, err := s.Validate(m.XML)
			require.NoError(t, err, "%s #%d", soort, i)
			require.Equal(t, m.Header, h, "%s #%d", soort, i)
		}
	}
}

// verdict is a comparable summary of one Validate call.
func verdict(h bericht.Header, err error) string {
	return fmt.Sprintf("%+v | %v", h, err)
}

// mixedMessages returns valid and invalid messages of many kinds.
func mixedMessages(t testing.TB) [][]byte {
	g := sample.New(11)
	var msgs [][]byte
	for _, soort := range bericht.All() {
		m, err := g.Generate(soort, sample.Options{Products: 2})
		require.NoError(t, err)
		msgs = append(msgs, m.XML)
		bad := bytes.Replace(m.XML, []byte("<"+strings.ToLower(soort.Name)+":Afzender>"), []byte("<"+strings.ToLower(soort.Name)+":Afzender>x"), 1)
		msgs = append(msgs, bad, m.XML[:len(m.XML)/3])
	}
	return append(msgs,
		nil,
		[]byte("<!DOCTYPE x><x/>"),
		[]byte(`<Bericht xmlns="http://www.istandaarden.nl/iwmo/3_1/wmo301/schema"/>`),
		[]byte("\xEF\xBB\xBF<x/>"),
	)
}

// TestConcurrentValidate: many goroutines validating valid and invalid
// messages against one Set get exactly the sequential results. Run it with
// -race once in a while (the detector cannot see into C).
func TestConcurrentValidate(t *testing.T) {
	s := embeddedSet(t)
	msgs := mixedMessages(t)
	want := make([]string, len(msgs))
	invalid := 0
	for i, m := range msgs {
		h, err := s.Validate(m)
		want[i] = verdict(h, err)
		if err != nil {
			invalid++
		}
	}
	require.Greater(t, invalid, len(msgs)/2)
	require.Less(t, invalid, len(msgs))

	rounds := 20
	if testing.Short() {
		rounds = 3
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				for k := range msgs {
					i := (k + w*7 + r) % len(msgs)
					if got := verdict(s.Validate(msgs[i])); got != want[i] {
						errs <- fmt.Sprintf("message %d: got %s, want %s", i, got, want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestCloseWhileValidating: Close waits for running validations and later
// calls get ErrClosed, never a crash.
func TestCloseWhileValidating(t *testing.T) {
	s, err := Load(Config{})
	require.NoError(t, err)
	msgs := mixedMessages(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				if _, err := s.Validate(msgs[i%len(msgs)]); err == ErrClosed {
					return
				}
			}
		}()
	}
	// Let the workers get going, then close under their feet.
	for i := range 50 {
		s.Validate(msgs[i%len(msgs)])
	}
	require.NoError(t, s.Close())
	wg.Wait()
	_, err = s.Validate(msgs[0])
	require.ErrorIs(t, err, ErrClosed)
}

// rss returns the resident set size of this process in bytes.
func rss(t *testing.T) int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("skipped: cannot read /proc/self/statm: %v", err)
	}
	fields := strings.Fields(string(data))
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	require.NoError(t, err)
	return pages * int64(os.Getpagesize())
}

// TestMemoryFlat: 20,000 validations of valid, invalid and refused messages
// leave RSS where it was; without freeing each document it would grow by
// tens of KB per message (hundreds of MB here).
func TestMemoryFlat(t *testing.T) {
	if raceEnabled {
		t.Skip("skipped: RSS under the race detector says nothing about libxml2")
	}
	s := embeddedSet(t)
	msgs := mixedMessages(t)
	run := func(n int) {
		for i := range n {
			s.Validate(msgs[i%len(msgs)])
		}
	}
	run(4000) // warm up allocators and the Go heap
	runtime.GC()
	before := rss(t)
	run(20000)
	runtime.GC()
	after := rss(t)
	t.Logf("RSS before %d KB, after %d KB", before>>10, after>>10)
	require.Less(t, after-before, int64(16<<20), "RSS grew by %d KB over 20,000 validations", (after-before)>>10)
}

// TestReloadWhileValidating: loading a new Set (a reload) while other
// goroutines validate on the current one neither blocks nor disturbs them.
func TestReloadWhileValidating(t *testing.T) {
	s := embeddedSet(t)
	msgs := mixedMessages(t)
	want := make([]string, len(msgs))
	for i, m := range msgs {
		want[i] = verdict(s.Validate(m))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := i % len(msgs)
				if got := verdict(s.Validate(msgs[k])); got != want[k] {
					errs <- fmt.Sprintf("message %d during reload: got %s, want %s", k, got, want[k])
					return
				}
			}
		}()
	}
	for range 3 {
		n, err := Load(Config{})
		require.NoError(t, err)
		_, err = n.Validate(msgs[0])
		require.NoError(t, err)
		require.NoError(t, n.Close())
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
