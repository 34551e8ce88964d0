package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

func init() {
	commands["keys"] = command{
		summary: "rotate the data key of encryption at rest, reseal stored messages",
		run:     runKeys,
	}
}

const keysUsage = `Usage:
  knooppunt keys rotate [--keys FILE | --data DIR]
  knooppunt keys reseal [--keys FILE] [--data DIR]

rotate appends a new random AES-256 key to the key file (creating it, mode
0600) and makes it the active one. Send the running switch SIGHUP: from
then on new messages are sealed with the new key, while older ones stay
readable under the keys before it. No downtime.

reseal rewrites every stored body under the active key, so an old key can
be removed from the file afterwards. It opens the store: run it while the
switch is stopped (the store is opened by one process at a time).

Flags:
  --data DIR   the node's data directory (default "data")
  --keys FILE  the key file (default DIR.keys, as serve uses)

Exit status: 0 done, 2 usage or I/O error.
`

func runKeys(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keys", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "data", "")
	keyFile := fs.String("keys", "", "")
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "reseal") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(stdout, keysUsage)
			return 0
		}
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, keysUsage)
			return 0
		}
		fmt.Fprintf(stderr, "knooppunt keys: %v\n\n%s", err, keysUsage)
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprint(stderr, keysUsage)
		return 2
	}
	if *keyFile == "" {
		*keyFile = *data + ".keys"
	}
	switch args[0] {
	case "rotate":
		id, err := store.AddKey(*keyFile, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt keys: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "new active key %s in %s; send the switch SIGHUP to use it\n", id, *keyFile)
		return 0
	default:
		keys, err := store.LoadKeyring(*keyFile)
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt keys: %v\n", err)
			return 2
		}
		ctx := context.Background()
		s, err := pebble.Open(ctx, pebble.Config{Dir: *data, Keys: keys})
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt keys: %v\n", err)
			return 2
		}
		n, err := s.Reseal(ctx)
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			fmt.Fprintf(stderr, "knooppunt keys: resealed %d, then: %v\n", n, err)
			return 2
		}
		fmt.Fprintf(stdout, "resealed %d messages under key %s\n", n, keys.Active())
		return 0
	}
}
