package audit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/knooppunt/knooppunt/store"
)

// CopyTrail copies the trail in dir into dstDir (created private if
// absent) while the trail is written to: every complete entry at the
// moment of the copy, without the one being appended meanwhile, in a
// file made private and synced. The copy is checked as Verify checks a
// trail; its head is in the Result.
func CopyTrail(dir, dstDir string) (Result, error) {
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		return Result{}, fmt.Errorf("reading the audit trail: %w", err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		data = data[:i+1] // entries are lines, each written whole and synced
	} else {
		data = nil
	}
	if err := store.MkdirPrivate(dstDir); err != nil {
		return Result{}, err
	}
	dst := filepath.Join(dstDir, FileName)
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, store.FileMode)
	if err != nil {
		return Result{}, fmt.Errorf("copying the audit trail: %w", err)
	}
	if err := f.Chmod(store.FileMode); err != nil {
		f.Close()
		return Result{}, fmt.Errorf("copying the audit trail: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return Result{}, fmt.Errorf("copying the audit trail: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return Result{}, fmt.Errorf("copying the audit trail: %w", err)
	}
	if err := f.Close(); err != nil {
		return Result{}, fmt.Errorf("copying the audit trail: %w", err)
	}
	r, err := VerifyReader(bytes.NewReader(data))
	if err != nil {
		return r, fmt.Errorf("the copied audit trail: %w", err)
	}
	return r, nil
}
