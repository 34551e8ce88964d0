package insight

import (
	"fmt"

	"github.com/knooppunt/knooppunt/store"
)

// keyringSealer is samenloop.Sealer over the store's keyring: the active
// key seals, any key of the key file opens, so a rotation (knooppunt keys
// rotate, then a reload) is followed at the next save. The additional
// data names the file's purpose, so a sealed value of another kind cannot
// pass for it.
type keyringSealer struct{ keys *store.Keyring }

// stateAD is the additional data of a sealed samenloop state.
var stateAD = []byte("knooppunt samenloop state")

// Seal seals plain under the keyring's active key.
func (k keyringSealer) Seal(plain []byte) ([]byte, error) {
	return k.keys.Seal(plain, stateAD), nil
}

// Open opens a state sealed by Seal, or one sealed in the earlier form
// (openEarlierState), which the next save replaces.
func (k keyringSealer) Open(v []byte) ([]byte, error) {
	if _, ok := store.SealedKey(v); !ok {
		return openEarlierState(k.keys, v)
	}
	return k.keys.Open(v, stateAD)
}

// openEarlierState reads a samenloop state sealed by earlier builds, which
// wrote the keyring's envelope without its leading magic
// (store.Keyring.OpenUnmarked). It only reads that form; the next save
// writes the keyring's.
func openEarlierState(keys *store.Keyring, v []byte) ([]byte, error) {
	plain, err := keys.OpenUnmarked(v, stateAD)
	if err != nil {
		return nil, fmt.Errorf("opening sealed state of an earlier form: %w", err)
	}
	return plain, nil
}
