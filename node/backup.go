package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/knooppunt/knooppunt/audit"
	"github.com/knooppunt/knooppunt/gateway"
	"github.com/knooppunt/knooppunt/insight"
	"github.com/knooppunt/knooppunt/store"
)

// A backup is a directory with everything a node keeps, copied while it
// serves and consistent among itself:
//
//	store/           a checkpoint of the Pebble store, with the ledger secret
//	                 (ledger.secret) its aanleveringen ledger is keyed with
//	                 (absent on JetStream: the stream is backed up with
//	                 NATS's own tools)
//	audit/audit.log  the audit trail
//	products/        the products' state files (stuurinfo.gob, samenloop.gob)
//	keys             the data keys, when bodies are encrypted at rest
//	backup.json      what the backup holds (BackupManifest)
//
// Restore (cmd/knooppunt restore) puts it back into a new data directory.

// BackupManifest describes a backup; it is written as backup.json.
type BackupManifest struct {
	// Made is when the copy was taken.
	Made time.Time `json:"made"`
	// Backend is "pebble" or "jetstream".
	Backend string `json:"backend"`
	// Store is true when store/ holds the messages (Pebble).
	Store bool `json:"store"`
	// FeedPosition is the store's change feed head just before the copy:
	// the copy holds every change up to it (and the few committed while
	// it was taken).
	FeedPosition uint64 `json:"feedPosition"`
	// TrailSeq and TrailHash are the head of the copied audit trail.
	TrailSeq  uint64 `json:"trailSeq"`
	TrailHash string `json:"trailHash"`
	// Products and Keys say whether those were copied.
	Products bool `json:"products"`
	Keys     bool `json:"keys"`
}

// ManifestFile is the backup's description.
const ManifestFile = "backup.json"

// Backup writes a consistent copy of everything this node keeps into dest,
// which must not exist, while the node serves. The trail's follower
// catches up first, so the copy records the trail's head. For the copies'
// few moments the products do not save (so the feed is not trimmed past
// the state files copied) and the follower takes no step (so the copies
// agree on which receptions are in the trail; a start after a restore
// writes those the copied feed holds past the copied head). Requests go
// on meanwhile.
func (n *Node) Backup(ctx context.Context, dest string) (BackupManifest, error) {
	m := BackupManifest{Made: time.Now().UTC(), Backend: n.cfg.Backend()}
	if _, err := os.Stat(dest); !errors.Is(err, fs.ErrNotExist) {
		return m, fmt.Errorf("backup directory %s exists: a backup is never written over another", dest)
	}
	if err := store.MkdirPrivate(dest); err != nil {
		return m, err
	}
	if n.products != nil {
		files, release := n.products.Hold()
		defer release()
		for _, f := range files {
			ok, err := copyPrivate(f, filepath.Join(dest, insight.ProductsDir, filepath.Base(f)))
			if err != nil {
				return m, fmt.Errorf("copying the products' state: %w", err)
			}
			m.Products = m.Products || ok
		}
	}
	if n.trail != nil {
		// Catch the trail up first, so the store's copy records the
		// trail's head (audit verify --expect-head store on a restore),
		// then hold the follower for the copies.
		if err := n.trail.Flush(ctx); err != nil {
			return m, fmt.Errorf("writing the store's receptions into the trail: %w", err)
		}
		defer n.trail.Hold()()
	}
	head, err := n.store.Head(ctx)
	if err != nil {
		return m, fmt.Errorf("reading the feed position: %w", err)
	}
	m.FeedPosition = head
	if n.local != nil {
		if err := n.local.Checkpoint(ctx, filepath.Join(dest, "store")); err != nil {
			return m, err
		}
		m.Store = true
		// The ledger's keys are made with the secret: it goes with the
		// store, into the data directory a restore makes.
		if n.ledgerSecretFile != "" {
			if _, err := copyPrivate(n.ledgerSecretFile, filepath.Join(dest, "store", LedgerSecretFile)); err != nil {
				return m, fmt.Errorf("copying the ledger secret: %w", err)
			}
		}
	}
	if n.audit != nil {
		r, err := audit.CopyTrail(n.cfg.auditDir(), filepath.Join(dest, "audit"))
		if err != nil {
			return m, err
		}
		m.TrailSeq, m.TrailHash = r.Last, r.Head
	}
	if kf := n.cfg.keyFile(); kf != "" {
		ok, err := copyPrivate(kf, filepath.Join(dest, "keys"))
		if err != nil {
			return m, fmt.Errorf("copying the data keys: %w", err)
		}
		m.Keys = ok
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	if _, err := writePrivate(filepath.Join(dest, ManifestFile), raw); err != nil {
		return m, err
	}
	n.log.Info().Str("backup", dest).Bool("store", m.Store).Uint64("feed_position", m.FeedPosition).
		Uint64("trail_seq", m.TrailSeq).Msg("backup written")
	return m, nil
}

// auditDir is where the audit trail is kept.
func (c Config) auditDir() string {
	if c.Security.AuditDir != "" {
		return c.Security.AuditDir
	}
	return c.Store.Dir + ".audit"
}

// copyPrivate copies the file src to dst (parents created private, the
// file 0600, synced); false when src does not exist.
func copyPrivate(src, dst string) (bool, error) {
	data, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return writePrivate(dst, data)
}

// writePrivate writes data to the new file path, private and synced.
func writePrivate(path string, data []byte) (bool, error) {
	if err := store.MkdirPrivate(filepath.Dir(path)); err != nil {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, store.FileMode)
	if err != nil {
		return false, err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(store.FileMode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("writing %s: %w", path, err)
	}
	return true, nil
}

// CopyTree copies the directory (or file) src into the new dst, every file
// private and synced, for a restore; copied, if not nil, learns the bytes
// as they are copied.
func CopyTree(src, dst string, copied func(n int64)) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return store.MkdirPrivate(target)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, store.FileMode)
		if err != nil {
			return err
		}
		var r io.Reader = in
		if copied != nil {
			r = countReader{in, copied}
		}
		_, err = io.Copy(out, r)
		if err == nil {
			err = out.Sync()
		}
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("copying %s: %w", path, err)
		}
		return nil
	})
}

// BackupAnswer is the answer of POST /v1/backup.
type BackupAnswer struct {
	// Path is the backup's directory on the node.
	Path string `json:"path"`
	BackupManifest
}

// backupEndpoints is POST /v1/backup when the node has a backup directory:
// a backup in a new directory under it, named by the time.
func (n *Node) backupEndpoints() []gateway.Endpoint {
	if n.cfg.BackupDir == "" {
		return nil
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dest := filepath.Join(n.cfg.BackupDir, time.Now().UTC().Format("20060102T150405.000Z"))
		m, err := n.Backup(r.Context(), dest)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil {
			n.log.Error().Err(err).Str("backup", dest).Msg("backup failed")
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]string{"code": "backup-failed",
				"message": "the backup failed; the node log says why, and " + dest + " is incomplete: remove it"})
			return
		}
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(BackupAnswer{Path: dest, BackupManifest: m})
	})
	return []gateway.Endpoint{{Method: http.MethodPost, Pattern: "/v1/backup", Handler: h}}
}

// countReader tells count how much is read through it.
type countReader struct {
	r     io.Reader
	count func(int64)
}

func (c countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.count(int64(n))
	return n, err
}
