package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/progress"
	"github.com/knooppunt/knooppunt/store/jetstream"
	"github.com/knooppunt/knooppunt/store/pebble"
)

func init() {
	commands["audit"] = command{
		summary: "verify the tamper-evident audit trail",
		run:     runAudit,
	}
}

const auditUsage = `Usage: knooppunt audit verify [--data DIR | --audit DIR] [--store URL] [--expect-head HEAD]

Checks the audit trail's hash chain: every entry's hash, every link to the
entry before it, consecutive sequence numbers, and that entries missing at
the start were removed by retention (which records itself in the chain).
Every changed, removed or inserted entry is reported with its line (the
first 1000; then a count).

It prints the number of entries and the head as SEQ:HASH. Record the head
outside the node (ticket, SIEM) and pass it as --expect-head later: a chain
that does not run through it shows that the tail was cut off or the trail
replaced. --expect-head store compares with the head the node's store
kept with its last audit commit: the Pebble store in --data (stop the
node first), or with --store the node's head in the JetStream stream,
under the node's name (node=NAME in the URL, else the name the node took
by default, from this host and the trail's directory).

Flags:
  --data DIR           the node's data directory; the trail is DIR.audit (default "data")
  --audit DIR          the trail's directory, if set elsewhere
  --store URL          the node's JetStream store, as serve's --store
  --expect-head HEAD   SEQ:HASH, HASH, or store

Exit status: 0 intact, 1 tampered, 2 usage or I/O error.
`

func runAudit(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "data", "")
	dir := fs.String("audit", "", "")
	expect := fs.String("expect-head", "", "")
	storeURL := fs.String("store", "", "")
	if len(args) == 0 || args[0] != "verify" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(stdout, auditUsage)
			return 0
		}
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, auditUsage)
			return 0
		}
		fmt.Fprintf(stderr, "knooppunt audit: %v\n\n%s", err, auditUsage)
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	if *dir == "" {
		*dir = *data + ".audit"
	}
	want, err := expectedHead(*expect, *data, *storeURL, *dir)
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt audit: %v\n", err)
		return 2
	}
	res, err := verifyTrail(filepath.Join(*dir, audit.FileName), want, stderr)
	switch {
	case errors.Is(err, audit.ErrTampered):
		n, noun := len(res.Breaks)+res.Unlisted, "breaks"
		if n == 1 {
			noun = "break"
		}
		fmt.Fprintf(stdout, "TAMPERED: %d entries, seq %d..%d; %d %s:\n", res.Entries, res.First, res.Last, n, noun)
		for _, b := range res.Breaks {
			fmt.Fprintf(stdout, "  %s\n", b)
		}
		if res.Unlisted > 0 {
			fmt.Fprintf(stdout, "  and %d more\n", res.Unlisted)
		}
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "knooppunt audit: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "ok: %d entries, seq %d..%d, head %d:%s\n", res.Entries, res.First, res.Last, res.Last, res.Head)
	switch res.Expected {
	case audit.HeadFound:
		fmt.Fprintln(stdout, "the chain runs through the expected head")
	case audit.HeadPruned:
		fmt.Fprintln(stdout, "the expected head was removed by retention since: nothing left to compare")
	}
	return 0
}

// expectedHead parses --expect-head: SEQ:HASH, HASH, or "store" for the
// head the store kept (the JetStream store at storeURL, else the Pebble
// store in data) for the trail in trailDir. Empty is no head.
func expectedHead(arg, data, storeURL, trailDir string) (audit.Head, error) {
	switch arg {
	case "":
		return audit.Head{}, nil
	case "store":
		if storeURL != "" {
			return streamHead(storeURL, trailDir)
		}
		if _, err := os.Stat(data); err != nil {
			return audit.Head{}, fmt.Errorf("reading the store's audit head: %w", err)
		}
		ctx := context.Background()
		s, err := pebble.Open(ctx, pebble.Config{Dir: data})
		if err != nil {
			return audit.Head{}, fmt.Errorf("reading the store's audit head: %w", err)
		}
		defer s.Close()
		h, ok, err := s.TrailHead(ctx)
		if err != nil {
			return audit.Head{}, err
		}
		if !ok {
			return audit.Head{}, fmt.Errorf("the store in %s has no audit head: no node has committed audit records to it", data)
		}
		return audit.Head{Seq: h.Seq, Hash: h.Hash}, nil
	}
	seq, hash, found := strings.Cut(arg, ":")
	if !found {
		seq, hash = "", arg
	}
	var h audit.Head
	if seq != "" {
		n, err := strconv.ParseUint(seq, 10, 64)
		if err != nil || n == 0 {
			return audit.Head{}, fmt.Errorf("--expect-head %q: want SEQ:HASH, HASH or store", arg)
		}
		h.Seq = n
	}
	if len(hash) != 64 || strings.Trim(hash, "0123456789abcdef") != "" {
		return audit.Head{}, fmt.Errorf("--expect-head %q: the hash is 64 lowercase hexadecimal digits", arg)
	}
	h.Hash = hash
	return h, nil
}

// streamHead is the head a node on the JetStream store at storeURL kept
// for its trail in trailDir, read under the node's name.
func streamHead(storeURL, trailDir string) (audit.Head, error) {
	jc, err := jetstream.ParseURL(storeURL)
	if err != nil {
		return audit.Head{}, err
	}
	if jc.Node == "" {
		jc.Node = node.NodeName(trailDir)
	}
	jc.MustExist = true
	jc.Policy.JanitorInterval = 24 * time.Hour
	ctx := context.Background()
	s, err := jetstream.Open(ctx, jc)
	if err != nil {
		return audit.Head{}, fmt.Errorf("reading the store's audit head: %w", err)
	}
	defer s.Close()
	h, ok, err := s.TrailLog().TrailHead(ctx)
	if err != nil {
		return audit.Head{}, fmt.Errorf("reading the store's audit head: %w", err)
	}
	if !ok {
		return audit.Head{}, fmt.Errorf("the stream %s has no audit head for node %s: no node of that name has committed audit records to it (give the node's name: node=NAME)", jc.Stream, jc.Node)
	}
	return audit.Head{Seq: h.Seq, Hash: h.Hash}, nil
}

// verifyTrail checks the trail in path through want, showing on progress
// how far it has read.
func verifyTrail(path string, want audit.Head, progressTo io.Writer) (audit.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return audit.Result{}, err
	}
	defer f.Close()
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	meter := progress.NewBytes(progressTo, "of the trail checked", size)
	defer meter.Done()
	return audit.VerifyThrough(meter.Reader(f), want)
}
