package samenloop

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/knooppunt/knooppunt/sample"
)

// gcmSealer is a test Sealer: AES-256-GCM, nonce first.
type gcmSealer struct{ a cipher.AEAD }

func newGCMSealer(t *testing.T) gcmSealer {
	key := make([]byte, 32)
	rand.Read(key)
	b, err := aes.NewCipher(key)
	require.NoError(t, err)
	a, err := cipher.NewGCM(b)
	require.NoError(t, err)
	return gcmSealer{a}
}

func (s gcmSealer) Seal(plain []byte) ([]byte, error) {
	nonce := make([]byte, s.a.NonceSize())
	rand.Read(nonce)
	return s.a.Seal(nonce, nonce, plain, nil), nil
}

func (s gcmSealer) Open(v []byte) ([]byte, error) {
	if len(v) < s.a.NonceSize() {
		return nil, errors.New("too short")
	}
	return s.a.Open(nil, v[:s.a.NonceSize()], v[s.a.NonceSize():], nil)
}

// TestSealedState: with a Sealer the state file holds no BSN, in text or
// as the binary number the clear file holds; it loads back with the same
// keys; a clear file is refused while sealing, and without keys or with
// other keys a sealed file is refused.
func TestSealedState(t *testing.T) {
	g := sample.New(17)
	m, f := wmo301(t, g, "0363")
	bsn := bsnOf(t, m.XML)
	n, err := strconv.ParseUint(bsn, 10, 32)
	require.NoError(t, err)
	binBSN := binary.BigEndian.AppendUint32(nil, uint32(n))
	now := time.Unix(int64(f.begin)*86400, 0).UTC()
	sealer := newGCMSealer(t)
	newSealed := func(s Sealer) *Engine {
		e, err := New(Config{Store: newMemStore(), Location: time.UTC, Now: func() time.Time { return now }, Sealer: s})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, e.Close()) })
		return e
	}

	e := newSealed(nil)
	require.NoError(t, e.Observe("WMO301", m.XML))
	e.Import(register(t, bsn+",ja,2025-01-01,"+f.begin.String()+","))
	_, err = e.Run(context.Background())
	require.NoError(t, err)
	dir := t.TempDir()
	clear, sealed := dir+"/clear.gob", dir+"/sealed.gob"
	require.NoError(t, e.SaveFile(clear))
	raw, err := os.ReadFile(clear)
	require.NoError(t, err)
	require.True(t, bytes.Contains(raw, binBSN), "the clear file holds the BSN (the check below can fail)")

	e.cfg.Sealer = sealer
	require.NoError(t, e.SaveFile(sealed))
	raw, err = os.ReadFile(sealed)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(raw, binBSN), "sealed file reveals the BSN")
	assert.False(t, bytes.Contains(raw, []byte(bsn)), "sealed file reveals the BSN")

	e2 := newSealed(sealer)
	require.NoError(t, e2.LoadFile(sealed))
	sum, err := e2.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, sum.Active)
	assert.Equal(t, 1, sum.Register)
	assert.Zero(t, sum.Signals, "what was told survives")
	assert.ErrorIs(t, newSealed(sealer).LoadFile(clear), ErrState, "BSNs in the clear where encryption at rest is on")
	assert.ErrorIs(t, newSealed(nil).LoadFile(sealed), ErrState, "no keys")
	assert.ErrorIs(t, newSealed(newGCMSealer(t)).LoadFile(sealed), ErrState, "other keys")
}
