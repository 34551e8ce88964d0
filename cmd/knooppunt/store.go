package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/knooppunt/knooppunt/progress"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/pebble"
)

func init() {
	commands["store"] = command{summary: "store maintenance: migrate a Pebble store into a NATS JetStream cluster", run: runStore}
}

const storeUsage = `Usage: knooppunt store migrate --from DIR --to nats://HOST:PORT[,...] [flags]

Copies every message of the Pebble store in DIR into the JetStream store on
the cluster: ids, bytes, history, mailbox and quarantine state, dedup keys,
conversations and confirmation times (for retention) are kept; leases are
not (a pending message is visible again at once). Stop every node that uses
DIR first. Running it again is safe: messages already present are skipped.
A store that still holds audit records for the trail (a node was killed
rather than stopped) is refused until a node has started and stopped on it.

Afterwards every message is read back from the cluster and compared with
the source: the counts (total, pending, quarantined, confirmed, expired)
and a digest over every id and sha256 must agree, and the bytes of every
message that has them must hash to its sha256.

How far it is goes to stderr (a bar on a terminal, a line every 5 s
otherwise). Interrupted (Ctrl-C, SIGTERM), it says how far it came; running
it again is safe: messages already present are skipped.

Exit status: 0 migrated and verified, 1 a message failed or verification
found a difference, 2 usage error.

Flags:
  --from DIR        the Pebble store's directory
  --to URL          the cluster's servers, comma-separated
  --stream NAME     the JetStream stream (default KNOOPPUNT)
  --subject PREFIX  the stream's subject prefix (default kp); a stream of
                    its own beside another needs a prefix of its own
  --replicas N      replicas when the stream is created (default 3)
  --key-file FILE   the data keys of an encrypted store (serve --key-file):
                    bodies are opened with them and sealed again in the
                    cluster under the active key
`

func runStore(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "migrate" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(stdout, storeUsage)
			return 0
		}
		fmt.Fprint(stderr, "knooppunt store: want the subcommand migrate\n\n"+storeUsage)
		return 2
	}
	fs := flag.NewFlagSet("store migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	from := fs.String("from", "", "Pebble store directory")
	to := fs.String("to", "", "NATS servers")
	stream := fs.String("stream", jetstream.DefaultStream, "JetStream stream")
	subject := fs.String("subject", jetstream.DefaultSubject, "subject prefix of the stream")
	replicas := fs.Int("replicas", jetstream.DefaultReplicas, "replicas of a new stream")
	keyFile := fs.String("key-file", "", "data keys of an encrypted store")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, storeUsage)
			return 0
		}
		fmt.Fprint(stderr, storeUsage)
		return 2
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "knooppunt store migrate: --from and --to are required\n\n"+storeUsage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	m := &migration{out: stdout, progress: stderr}
	if *keyFile != "" {
		keys, err := store.LoadKeyring(*keyFile)
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt store migrate: %v\n", err)
			return 1
		}
		m.keys = keys
	}
	if err := m.run(ctx, *from, jetstream.Config{URL: *to, Stream: *stream, Subject: *subject, Replicas: *replicas, Keys: m.keys}); err != nil {
		fmt.Fprintf(stderr, "knooppunt store migrate: %v\n", err)
		return 1
	}
	return 0
}

// migration copies a Pebble store into JetStream and verifies the copy.
type migration struct {
	out      io.Writer
	progress io.Writer      // how far it is (progress.Meter); nil: silent
	keys     *store.Keyring // nil: the store is in the clear
}

// tally is what the counts and digest of one side come to.
type tally struct {
	total, pending, quarantined, confirmed, expired int
	digest                                          [32]byte
}

func (t tally) String() string {
	return fmt.Sprintf("%d messages (%d pending, %d quarantined, %d confirmed, %d without payload), digest %x",
		t.total, t.pending, t.quarantined, t.confirmed, t.expired, t.digest[:8])
}

func (m *migration) run(ctx context.Context, dir string, cfg jetstream.Config) error {
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("reading source: %w", err)
	}
	src, err := pebble.Open(ctx, pebble.Config{Dir: dir, Keys: m.keys, Policy: store.Policy{JanitorInterval: 24 * time.Hour}})
	if err != nil {
		return fmt.Errorf("opening source: %w", err)
	}
	defer src.Close()
	// The receptions of a node that did not stop cleanly wait in the
	// feed for its next start, which writes them into the trail; a
	// migration does not carry them over.
	if left, err := unrecorded(ctx, src); err != nil {
		return err
	} else if left {
		return errors.New("the store's feed holds receptions not yet in the audit trail, of a node that did not stop cleanly: start the node on it once and stop it (SIGTERM), then migrate")
	}
	ids, err := allIDs(ctx, src)
	if err != nil {
		return err
	}
	dst, err := jetstream.Open(ctx, cfg)
	if err != nil {
		return fmt.Errorf("opening target: %w", err)
	}
	defer dst.Close()

	var srcT, dstT tally
	srcDigest, dstDigest := sha256.New(), sha256.New()
	imported, failed := 0, 0
	w := m.progress
	if w == nil {
		w = io.Discard
	}
	meter := progress.New(w, "messages", int64(len(ids)))
	defer meter.Done()
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			meter.Done()
			return fmt.Errorf("interrupted after %d of %d messages (%d imported); running it again is safe: "+
				"messages already present are skipped, and the copy is verified at the end: %w", meter.Count(), len(ids), imported, err)
		}
		meter.Add(1)
		rec, err := readRecord(ctx, src, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // purged by retention while we ran
		} else if err != nil {
			return err
		}
		count(&srcT, rec)
		srcDigest.Write(rec.Meta.ID[:])
		srcDigest.Write(rec.Meta.SHA256[:])
		ok, err := dst.Import(ctx, rec)
		if err != nil {
			fmt.Fprintf(m.out, "%s: %v\n", id, err)
			failed++
			continue
		}
		if ok {
			imported++
		}
		got, err := verify(ctx, dst, rec)
		if err != nil {
			fmt.Fprintf(m.out, "%s: verification: %v\n", id, err)
			failed++
			continue
		}
		count(&dstT, got)
		dstDigest.Write(got.Meta.ID[:])
		dstDigest.Write(got.Meta.SHA256[:])
	}
	meter.Done()
	copy(srcT.digest[:], srcDigest.Sum(nil))
	copy(dstT.digest[:], dstDigest.Sum(nil))
	fmt.Fprintf(m.out, "source: %s\ntarget: %s\nimported %d, already present %d, failed %d\n",
		srcT, dstT, imported, srcT.total-imported-failed, failed)
	if failed > 0 || srcT != dstT {
		return errors.New("verification failed: source and target differ")
	}
	fmt.Fprintln(m.out, "verified: counts and digests agree")
	return nil
}

func count(t *tally, r *jetstream.Record) {
	t.total++
	switch {
	case !r.Confirmed.IsZero():
		t.confirmed++
	case r.Quarantined:
		t.quarantined++
	default:
		t.pending++
	}
	if r.Body == nil {
		t.expired++
	}
}

// unrecorded reports whether src's feed holds receptions past the
// position its audit trail's follower kept.
func unrecorded(ctx context.Context, src *pebble.Store) (bool, error) {
	head, _, err := src.TrailHead(ctx)
	if err != nil {
		return false, err
	}
	for after := head.Feed; ; {
		cs, err := src.Changes(ctx, after, 1000)
		if err != nil {
			return false, fmt.Errorf("reading the source's feed: %w", err)
		}
		if len(cs) == 0 {
			return false, nil
		}
		for _, c := range cs {
			if c.Reception != nil {
				return true, nil
			}
		}
		after = cs[len(cs)-1].Seq
	}
}

// allIDs lists the ids of every message in a Pebble store, in id order.
func allIDs(ctx context.Context, src *pebble.Store) ([]store.ID, error) {
	var ids []store.ID
	var after store.ID
	for {
		page, err := src.IDs(ctx, after, 10000)
		if err != nil {
			return nil, fmt.Errorf("reading source: %w", err)
		}
		if len(page) == 0 {
			return ids, nil
		}
		ids = append(ids, page...)
		after = page[len(page)-1]
	}
}

// readRecord reads one message and its state through the Store interface.
func readRecord(ctx context.Context, s store.Store, id store.ID) (*jetstream.Record, error) {
	meta, err := s.Meta(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", id, err)
	}
	body, err := s.Get(ctx, meta.Recipient, id)
	switch {
	case errors.Is(err, store.ErrExpired):
		body = nil
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", id, err)
	}
	rec := &jetstream.Record{Meta: meta, Body: body}
	for _, ev := range meta.History {
		switch ev.State {
		case store.StateConfirmed:
			rec.Confirmed, rec.Quarantined = ev.At, false
		case store.StateListed:
			rec.Deliveries++
		case store.StateReleased:
			rec.Deliveries, rec.Quarantined = 0, false
		case store.StateQuarantined:
			rec.Quarantined = true
		}
	}
	return rec, nil
}

// verify reads rec back from the target and checks it against the source.
func verify(ctx context.Context, dst *jetstream.Store, want *jetstream.Record) (*jetstream.Record, error) {
	got, err := readRecord(ctx, dst, want.Meta.ID)
	if err != nil {
		return nil, err
	}
	switch {
	case got.Meta.SHA256 != want.Meta.SHA256 || got.Meta.Size != want.Meta.Size:
		return nil, errors.New("size or sha256 differ")
	case got.Meta.Recipient != want.Meta.Recipient || got.Meta.Sender != want.Meta.Sender || got.Meta.Conversation != want.Meta.Conversation:
		return nil, errors.New("parties or conversation differ")
	case (got.Body == nil) != (want.Body == nil):
		return nil, errors.New("payload present on one side only")
	case got.Body != nil && sha256.Sum256(got.Body) != want.Meta.SHA256:
		return nil, errors.New("bytes do not hash to the sha256")
	case got.Confirmed.IsZero() != want.Confirmed.IsZero() || got.Quarantined != want.Quarantined:
		return nil, errors.New("state differs")
	}
	return got, nil
}
