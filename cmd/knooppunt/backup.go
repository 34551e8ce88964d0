package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/progress"
	"github.com/knooppunt/knooppunt/store"
	"github.com/knooppunt/knooppunt/store/pebble"
)

func init() {
	commands["backup"] = command{summary: "have a running switch copy everything it keeps, while it serves", run: runBackup}
	commands["restore"] = command{summary: "put a backup into a new data directory, for a switch to start on", run: runRestore}
}

const backupUsage = `Usage: knooppunt backup --url URL [flags]

Asks a running switch, as an operator, to write a backup: a consistent
copy of its store (a Pebble checkpoint), audit trail, products' state and
data keys, taken while it serves, into a new directory under its
--backup-dir (serve's flag; without it the switch has no backup endpoint).
Prints where, and what the backup holds. The switch records it in the
audit trail. On the JetStream store the stream is not in the backup: back
it up with NATS's tools (docs/operations.md). Put a backup back with
knooppunt restore.

Flags:
  --url URL      base URL of the switch's API (required)
  --token T      bearer token (or KNOOPPUNT_TOKEN)
  --cert, --key  client certificate and key (PEM) for mutual TLS
  --ca FILE      CA certificates (PEM) the server's certificate chains to

Exit status: 0 written, 1 the switch said no or failed, 2 usage or I/O error.
`

func runBackup(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, backupUsage)
		return 0
	}
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := &clientFlags{}
	c.register(fs)
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || c.url == "" {
		fmt.Fprint(stderr, backupUsage)
		return 2
	}
	stop := onInterrupt(stderr, func() string {
		return "the switch goes on writing the backup it was asked for; its directory is listed in its log (\"backup written\")"
	})
	status, body, err := c.do(http.MethodPost, "/v1/backup", "", nil)
	stop()
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt backup: %v\n", err)
		return 2
	}
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "knooppunt backup: the switch answered %d: %s\n", status, body)
		return 1
	}
	var a node.BackupAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		fmt.Fprintf(stderr, "knooppunt backup: reading the answer: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "backup written on the switch to %s\n", a.Path)
	printManifest(stdout, a.BackupManifest)
	return 0
}

// printManifest says what a backup holds.
func printManifest(w io.Writer, m node.BackupManifest) {
	fmt.Fprintf(w, "  made %s, %s store", m.Made.Format("2006-01-02 15:04:05 MST"), m.Backend)
	if m.Store {
		fmt.Fprintf(w, ", feed position %d or later", m.FeedPosition)
	} else {
		fmt.Fprint(w, " (the stream is not in the backup)")
	}
	fmt.Fprintf(w, "\n  audit trail through entry %d (%s)\n", m.TrailSeq, m.TrailHash)
	fmt.Fprintf(w, "  products' state: %v, data keys: %v\n", m.Products, m.Keys)
}

const restoreUsage = `Usage: knooppunt restore --from BACKUP --data DIR [flags]

Puts a backup written by knooppunt backup into a new data directory, for
knooppunt serve --data DIR to start on: the store into DIR, the products'
state into DIR/products, the audit trail into DIR.audit (or --audit-dir),
the data keys into DIR.keys (or --key-file). None of them may exist: a
restore never writes over data. It checks that the restored trail runs
through the head the restored store recorded, as serve does at start.

Flags:
  --from BACKUP     the backup's directory
  --data DIR        the new data directory
  --audit-dir DIR   where the audit trail goes (default DIR.audit)
  --key-file FILE   where the data keys go (default DIR.keys)

Exit status: 0 restored, 1 the backup is incomplete or does not check,
2 usage or I/O error.
`

func runRestore(args []string, _ io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, restoreUsage)
		return 0
	}
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	from := fs.String("from", "", "backup directory")
	data := fs.String("data", "", "new data directory")
	auditDir := fs.String("audit-dir", "", "audit trail directory")
	keyFile := fs.String("key-file", "", "data key file")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *from == "" || *data == "" {
		fmt.Fprint(stderr, restoreUsage)
		return 2
	}
	if *auditDir == "" {
		*auditDir = *data + ".audit"
	}
	if *keyFile == "" {
		*keyFile = *data + ".keys"
	}
	stop := onInterrupt(stderr, func() string {
		return fmt.Sprintf("the restore is incomplete; remove %s, %s and %s, then run it again", *data, *auditDir, *keyFile)
	})
	m, err := restore(*from, *data, *auditDir, *keyFile, stderr)
	stop()
	if err != nil {
		fmt.Fprintf(stderr, "knooppunt restore: %v\n", err)
		var ie incompleteError
		if errors.As(err, &ie) {
			return 1
		}
		return 2
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", *from, *data)
	printManifest(stdout, m)
	fmt.Fprintf(stdout, "start it with: knooppunt serve --data %s (and the flags it ran with)\n", *data)
	return 0
}

// incompleteError is a backup that lacks what its manifest promises, or
// whose parts do not agree.
type incompleteError struct{ msg string }

func (e incompleteError) Error() string { return e.msg }

// restore copies the backup in from into place, showing on progressTo how
// far it is, and checks the result.
func restore(from, data, auditDir, keyFile string, progressTo io.Writer) (node.BackupManifest, error) {
	var m node.BackupManifest
	raw, err := os.ReadFile(filepath.Join(from, node.ManifestFile))
	if err != nil {
		return m, fmt.Errorf("reading the backup's %s: %w", node.ManifestFile, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, incompleteError{fmt.Sprintf("%s is not a backup description: %v", node.ManifestFile, err)}
	}
	targets := []string{data, auditDir}
	if m.Keys {
		targets = append(targets, keyFile)
	}
	for _, p := range targets {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("%s exists: a restore never writes over data; choose new paths", p)
		}
	}
	var total int64
	_ = filepath.WalkDir(from, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				total += fi.Size()
			}
		}
		return nil
	})
	meter := progress.NewBytes(progressTo, "restored", total)
	defer meter.Done()
	if m.Store {
		if err := node.CopyTree(filepath.Join(from, "store"), data, meter.Add); err != nil {
			return m, fmt.Errorf("restoring the store: %w", err)
		}
	} else if err := store.MkdirPrivate(data); err != nil {
		return m, err
	}
	if m.Products {
		if err := node.CopyTree(filepath.Join(from, "products"), filepath.Join(data, "products"), meter.Add); err != nil {
			return m, fmt.Errorf("restoring the products' state: %w", err)
		}
	}
	if err := node.CopyTree(filepath.Join(from, "audit"), auditDir, meter.Add); err != nil {
		return m, fmt.Errorf("restoring the audit trail: %w", err)
	}
	if m.Keys {
		if err := node.CopyTree(filepath.Join(from, "keys"), keyFile, meter.Add); err != nil {
			return m, fmt.Errorf("restoring the data keys: %w", err)
		}
	}
	meter.Done()
	if !m.Store {
		return m, nil
	}
	// The trail must run through the head the store recorded, as a start
	// checks; and the store must be what the manifest says.
	ctx := context.Background()
	sc := pebble.Config{Dir: data}
	if m.Keys {
		if sc.Keys, err = store.LoadKeyring(keyFile); err != nil {
			return m, fmt.Errorf("reading the restored data keys: %w", err)
		}
	}
	st, err := pebble.Open(ctx, sc)
	if err != nil {
		return m, fmt.Errorf("opening the restored store: %w", err)
	}
	defer st.Close()
	feed, err := st.Head(ctx)
	if err != nil {
		return m, fmt.Errorf("reading the restored store's feed: %w", err)
	}
	if feed < m.FeedPosition {
		return m, incompleteError{fmt.Sprintf("the restored store's feed ends at %d, before the backup's %d", feed, m.FeedPosition)}
	}
	m.FeedPosition = feed
	head, ok, err := st.TrailHead(ctx)
	if err != nil {
		return m, fmt.Errorf("reading the restored store's trail head: %w", err)
	}
	want := audit.Head{}
	if ok {
		want = audit.Head{Seq: head.Seq, Hash: head.Hash}
	}
	if _, err := audit.VerifyFileThrough(filepath.Join(auditDir, audit.FileName), want); err != nil {
		return m, incompleteError{fmt.Sprintf("the restored audit trail does not check: %v", err)}
	}
	return m, nil
}
