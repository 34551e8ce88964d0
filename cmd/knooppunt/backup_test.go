package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/bericht"
	"github.com/knooppunt/knooppunt/node"
	"github.com/knooppunt/knooppunt/sample"
)

// TestBackupUnderLoadAndRestore: a switch process takes posts from four
// clients while `knooppunt backup` has it write a backup; the switch is
// then killed with SIGKILL. `knooppunt restore` puts the backup into a new
// data directory, `audit verify --expect-head store` accepts the restored
// trail, and a switch started on it delivers every message acknowledged
// before the backup began exactly once, and nothing that was never
// acknowledged.
func TestBackupUnderLoadAndRestore(t *testing.T) {
	dir := t.TempDir()
	n := startNodeProcess(t, "--data", filepath.Join(dir, "data"), "--backup-dir", filepath.Join(dir, "backups"))
	s, _ := bericht.Lookup("WMO301")

	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	client := &http.Client{}
	for c := range 4 {
		wg.Go(func() {
			g := sample.New(int64(100 + c))
			for {
				select {
				case <-stop:
					return
				default:
				}
				m, err := g.Heen(s, sample.Options{Afzender: "0384", Ontvanger: "42420001"})
				if !assert.NoError(t, err) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, n.url+"/v1/berichten", bytes.NewReader(m.XML))
				req.Header.Set("Authorization", "Bearer dev-0384")
				req.Header.Set("Content-Type", "application/xml")
				resp, err := client.Do(req)
				if err != nil {
					continue // the switch is being killed
				}
				var a struct{ ID string }
				_ = json.NewDecoder(resp.Body).Decode(&a)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					mu.Lock()
					acked = append(acked, a.ID)
					mu.Unlock()
				}
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for count() < 40 {
		require.False(t, t.Failed())
		waitABit()
	}
	mu.Lock()
	before := append([]string(nil), acked...) // acknowledged before the backup began
	mu.Unlock()
	code, out, errs := runCmd("backup", "--url", n.url, "--token", "dev-operator")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, errs)
	path, _, _ := strings.Cut(strings.TrimPrefix(out, "backup written on the switch to "), "\n")
	require.DirExists(t, path, out)
	for target := count() + 20; count() < target; {
		waitABit()
	}
	require.NoError(t, n.cmd.Process.Kill()) // SIGKILL, under load
	_ = n.cmd.Wait()
	close(stop)
	wg.Wait()

	var m node.BackupManifest
	raw, err := os.ReadFile(filepath.Join(path, node.ManifestFile))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.True(t, m.Store && m.Products, "%+v", m)

	restored := filepath.Join(dir, "restored")
	code, out, errs = runCmd("restore", "--from", path, "--data", restored)
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, errs)
	assert.Contains(t, errs, "MB restored (100%)", "progress on stderr")
	secret, err := os.ReadFile(filepath.Join(dir, "data", node.LedgerSecretFile))
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(restored, node.LedgerSecretFile))
	require.NoError(t, err, "the ledger secret is restored with the store")
	assert.Equal(t, secret, got)
	code, out, errs = runCmd("restore", "--from", path, "--data", restored)
	assert.Equal(t, 2, code, "a restore never writes over data: %s %s", out, errs)
	code, out, errs = runCmd("audit", "verify", "--data", restored, "--expect-head", "store")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", out, errs)

	r := startNodeProcess(t, "--data", restored)
	seen := map[string]int{}
	for {
		var l struct{ Berichten []struct{ ID string } }
		status, body := get(t, r.url+"/v1/mailbox?limit=250", "dev-42420001")
		require.Equal(t, http.StatusOK, status, "%s", body)
		require.NoError(t, json.Unmarshal(body, &l))
		if len(l.Berichten) == 0 {
			break
		}
		for _, b := range l.Berichten {
			seen[b.ID]++
			status, _ := get(t, r.url+"/v1/mailbox/"+b.ID, "dev-42420001")
			require.Equal(t, http.StatusOK, status)
			req, _ := http.NewRequest(http.MethodDelete, r.url+"/v1/mailbox/"+b.ID, nil)
			req.Header.Set("Authorization", "Bearer dev-42420001")
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusNoContent, resp.StatusCode)
		}
	}
	for _, id := range before {
		assert.Equal(t, 1, seen[id], "message %s, acknowledged before the backup, delivered once", id)
	}
	mu.Lock()
	all := map[string]bool{}
	for _, id := range acked {
		all[id] = true
	}
	mu.Unlock()
	for id, times := range seen {
		assert.True(t, all[id], "%s was never acknowledged", id)
		assert.Equal(t, 1, times, id)
	}
	assert.GreaterOrEqual(t, len(seen), len(before))
}

// get sends an authenticated GET.
func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b.Bytes()
}

// waitABit lets the clients post a few more.
func waitABit() { time.Sleep(10 * time.Millisecond) }
