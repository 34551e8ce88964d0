package pebble_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

// envRounds reads a round count from the environment, else def.
func envRounds(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// crashBody is the deterministic payload of identificatie ident: about
// 4 KB, different for every ident.
func crashBody(ident string) []byte {
	sum := sha256.Sum256([]byte(ident))
	var b strings.Builder
	fmt.Fprintf(&b, "<Bericht id=%q>", ident)
	for b.Len() < 4000 {
		fmt.Fprintf(&b, "%x", sum)
	}
	b.WriteString("</Bericht>")
	return []byte(b.String())
}

func crashMsg(ident string) *store.Message {
	recipient := "0363"
	if len(ident)%2 == 0 {
		recipient = "0599"
	}
	return &store.Message{Soort: "WMO315", Sender: "12345678", Recipient: recipient,
		Identificatie: ident, Body: crashBody(ident)}
}

// load runs writers and a consumer against s until stop is closed,
// reporting each Put and Ack after it returned.
func load(ctx context.Context, s store.Store, prefix string, stop <-chan struct{}, put func(ident string, id store.ID), ack func(id store.ID)) {
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ident := fmt.Sprintf("%s-%d-%d", prefix, w, i)
				r, err := s.Put(ctx, crashMsg(ident))
				if err != nil {
					return
				}
				put(ident, r.ID)
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			l, err := s.List(ctx, "0363", 50)
			if err != nil {
				return
			}
			for _, e := range l {
				if err := s.Ack(ctx, "0363", e.ID); err != nil {
					return
				}
				ack(e.ID)
			}
		}
	})
	wg.Wait()
}

// verify checks, on a reopened store, that every reported Put is present
// exactly once with its bytes and every reported Ack took effect.
// Bytes are compared for idents with prefix bodies ("" for all).
func verify(t *testing.T, s *pebble.Store, puts map[string]store.ID, acks map[store.ID]bool, bodies string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.Check(ctx), "tables agree")
	for ident, id := range puts {
		m, err := s.Lookup(ctx, store.Key{Sender: "12345678", Soort: "WMO315", Identificatie: ident})
		require.NoError(t, err, "a Put that returned (%s) is lost", ident)
		require.Equal(t, id, m.ID, "%s stored under another id", ident)
		if strings.HasPrefix(ident, bodies) {
			body, err := s.Get(ctx, m.Recipient, id)
			require.NoError(t, err)
			require.Equal(t, crashBody(ident), body, "%s: bytes differ", ident)
		}
		if acks[id] {
			require.Equal(t, store.StateConfirmed, m.State, "an Ack that returned (%s) is lost", id)
		}
	}
}

func TestCrashableFSKeepsReturnedWrites(t *testing.T) {
	rounds := envRounds("STORE_CRASH_ROUNDS", 6)
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for round := range rounds {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			ctx := context.Background()
			fs := vfs.NewCrashableMem()
			s, err := pebble.Open(ctx, pebble.Config{Dir: "db", FS: fs, MemTableSize: 1 << 20})
			require.NoError(t, err)
			var mu sync.Mutex
			puts := map[string]store.ID{}
			acks := map[store.ID]bool{}
			var n atomic.Int64
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				load(ctx, s, fmt.Sprint("r", round), stop,
					func(ident string, id store.ID) {
						mu.Lock()
						puts[ident] = id
						mu.Unlock()
						n.Add(1)
					},
					func(id store.ID) {
						mu.Lock()
						acks[id] = true
						mu.Unlock()
					})
			}()
			target := int64(100 + rng.IntN(1500))
			for n.Load() < target {
				time.Sleep(time.Millisecond)
			}
			// Everything reported so far returned before the crash.
			mu.Lock()
			wantPuts := maps(puts)
			wantAcks := maps(acks)
			mu.Unlock()
			crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(100), RNG: rand.New(rand.NewPCG(rng.Uint64(), 0))})
			close(stop)
			<-done
			require.NoError(t, s.Close())

			s, err = pebble.Open(ctx, pebble.Config{Dir: "db", FS: crashed})
			require.NoError(t, err)
			defer s.Close()
			verify(t, s, wantPuts, wantAcks, "")
			t.Logf("%d puts and %d acks survived the crash", len(wantPuts), len(wantAcks))
		})
	}
}

func maps[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestKillChild is the child of TestKill: it writes under load into the
// store in $STORE_KILL_DIR and reports every returned Put and Ack on
// stdout until it is killed.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("STORE_KILL_DIR")
	if dir == "" {
		t.Skip("runs only as the child process of TestKill")
	}
	ctx := context.Background()
	s, err := pebble.Open(ctx, pebble.Config{Dir: dir})
	if err != nil {
		fmt.Fprintf(os.Stdout, "ERR %v\n", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	line := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = fmt.Fprintf(os.Stdout, format, args...)
	}
	load(ctx, s, os.Getenv("STORE_KILL_PREFIX"), make(chan struct{}),
		func(ident string, id store.ID) { line("P %s %s\n", ident, id) },
		func(id store.ID) { line("A %s\n", id) })
	select {} // killed by the parent
}

func TestKill(t *testing.T) {
	if os.Getenv("STORE_KILL_DIR") != "" {
		t.Skip("in the child")
	}
	rounds := envRounds("STORE_KILL_ROUNDS", 10)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	puts := map[string]store.ID{}
	acks := map[store.ID]bool{}
	total := 0
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "STORE_KILL_DIR="+dir, fmt.Sprintf("STORE_KILL_PREFIX=k%d", round))
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			r := bufio.NewReader(out)
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return // a torn last line is dropped: it was not reported
				}
				lines <- l
			}
		}()
		kill := time.After(time.Duration(50+rng.IntN(300)) * time.Millisecond)
		killed := false
		n := 0
		for l := range lines {
			if strings.HasPrefix(l, "ERR ") {
				t.Fatalf("child: %s", l)
			}
			f := strings.Fields(l)
			switch {
			case len(f) == 3 && f[0] == "P":
				id, err := store.ParseID(f[2])
				require.NoError(t, err)
				puts[f[1]] = id
				n++
			case len(f) == 2 && f[0] == "A":
				id, err := store.ParseID(f[1])
				require.NoError(t, err)
				acks[id] = true
			default:
				// test framework chatter
			}
			if !killed {
				select {
				case <-kill:
					require.NoError(t, cmd.Process.Kill()) // SIGKILL
					killed = true
				default:
				}
			}
		}
		_ = cmd.Wait()
		total += n
		s, err := pebble.Open(context.Background(), pebble.Config{Dir: dir})
		require.NoError(t, err, "round %d: reopen after SIGKILL", round)
		verify(t, s, puts, acks, fmt.Sprintf("k%d-", round))
		require.NoError(t, s.Close())
		t.Logf("round %d: %d puts reported before SIGKILL; all present", round, n)
	}
	assert.Positive(t, total)
}
