package store

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Encryption at rest. Message bodies carry BSNs, names and care data; with
// a Keyring configured a backend seals them with AES-256-GCM before they
// reach its storage, so no write-ahead log, sstable or stream holds them in
// the clear.
//
// Envelope: each sealed value names the key it was sealed with, so keys
// can rotate without downtime — new writes use the active key (the last in
// the key file), older values stay readable under theirs, and Reseal moves
// them to the active key when the old one is to be retired.
//
// Sealed value: sealMagic, key-id length (1 byte), key id, 12-byte nonce,
// ciphertext with its 16-byte tag. The additional data is the SHA-256 of
// the plaintext that the message record holds, which binds a sealed body
// to its record: a body moved under another message fails to open. A
// value without the magic is a body stored in the clear (before
// encryption was switched on) and is returned as it is; XML never starts
// with a NUL byte, so the two cannot be confused.

// sealMagic starts every sealed value.
var sealMagic = []byte{0, 'K', 'P', 1}

// ErrSealed means a value is sealed under a key the store does not have
// (no keyring, or a key removed from the key file too early).
var ErrSealed = errors.New("sealed under an unavailable key")

// KeySize is the size of a data key: AES-256.
const KeySize = 32

// maxKeyID bounds a key id: it is stored in each value.
const maxKeyID = 64

// Keyring holds the data keys of a key file. It is safe for concurrent use;
// Reload swaps in the file's current contents atomically.
type Keyring struct {
	path string
	cur  atomic.Pointer[keys]
	mu   sync.Mutex // serialises Reload
}

// keys is one loaded state of the key file.
type keys struct {
	active string
	aead   map[string]cipher.AEAD
}

// LoadKeyring reads the key file at path. Its format is one key a line,
// "<id> <base64 of 32 random bytes>", '#' comments and blank lines
// ignored; the last key is the active one. A file that group or others
// may read or write is refused (CheckMode): chmod 600 it.
func LoadKeyring(path string) (*Keyring, error) {
	k := &Keyring{path: path}
	if err := k.Reload(); err != nil {
		return nil, err
	}
	return k, nil
}

// Reload reads the key file again, e.g. after `knooppunt keys rotate`: new
// writes use the new active key at once. On error the keys in force stay.
func (k *Keyring) Reload() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	ks, err := readKeyFile(k.path)
	if err != nil {
		return err
	}
	k.cur.Store(ks)
	return nil
}

// Active returns the id of the key new values are sealed with.
func (k *Keyring) Active() string { return k.cur.Load().active }

// IDs returns the ids of all keys loaded, oldest first is not promised.
func (k *Keyring) IDs() []string {
	ks := k.cur.Load()
	out := make([]string, 0, len(ks.aead))
	for id := range ks.aead {
		out = append(out, id)
	}
	return out
}

// readKeyFile parses the key file at path, refusing one that group or
// others may read (CheckMode): a data key is not to be shared.
func readKeyFile(path string) (*keys, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	if err := CheckMode(path); err != nil {
		return nil, fmt.Errorf("refusing key file: %w: %w", err, ErrInvalid)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	ks := &keys{aead: map[string]cipher.AEAD{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		id, b64, ok := strings.Cut(text, " ")
		if !ok || id == "" || len(id) > maxKeyID || !safeKeyID(id) {
			return nil, fmt.Errorf("key file %s line %d: want \"<id> <base64 key>\" with an id of 1..%d letters, digits, '-' or '_': %w", path, line, maxKeyID, ErrInvalid)
		}
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("key file %s line %d: key %s is not %d base64-encoded bytes: %w", path, line, id, KeySize, ErrInvalid)
		}
		if _, dup := ks.aead[id]; dup {
			return nil, fmt.Errorf("key file %s line %d: key id %s appears twice: %w", path, line, id, ErrInvalid)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("key file %s line %d: %w", path, line, err)
		}
		if ks.aead[id], err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("key file %s line %d: %w", path, line, err)
		}
		ks.active = id
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading key file %s: %w", path, err)
	}
	if ks.active == "" {
		return nil, fmt.Errorf("key file %s holds no key: %w", path, ErrInvalid)
	}
	return ks, nil
}

func safeKeyID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// AddKey appends a new random key to the key file at path (creating it,
// mode 0600, if absent) and makes it the active one; it returns the new
// key's id. The running switch picks it up on its next reload (SIGHUP).
// Old keys stay in the file so older values remain readable.
func AddKey(path string, now time.Time) (string, error) {
	var existing []byte
	if raw, err := os.ReadFile(path); err == nil {
		if _, err := readKeyFile(path); err != nil {
			return "", err
		}
		existing = raw
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading key file: %w", err)
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generating key: %w", err)
	}
	// The id is the creation time and random bits: unique across key files,
	// so a value sealed under another node's key never meets a namesake.
	var r [4]byte
	rand.Read(r[:])
	id := fmt.Sprintf("k%s-%x", now.UTC().Format("20060102T150405Z"), r)
	var b bytes.Buffer
	b.Write(existing)
	if len(existing) > 0 && existing[len(existing)-1] != '\n' {
		b.WriteByte('\n')
	}
	if len(existing) == 0 {
		b.WriteString("# Knooppunt data keys: the last one seals new data; keep older ones\n# until `knooppunt keys reseal` has moved every value off them.\n")
	}
	fmt.Fprintf(&b, "%s %s\n", id, base64.StdEncoding.EncodeToString(key))
	tmp := path + ".new"
	err := writePrivate(tmp, b.Bytes())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("writing key file: %w", err)
	}
	return id, nil
}

// writePrivate writes data to path and syncs it. The file ends with mode
// FileMode whatever the umask, and whatever the mode of a file left
// at path by an interrupted run.
func writePrivate(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, FileMode)
	if err != nil {
		return err
	}
	err = f.Chmod(FileMode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// Seal encrypts plain under the active key with ad as additional data
// (the store uses the SHA-256 of the plaintext). The result names its key
// and starts with a NUL byte, so it is never mistaken for a message.
func (k *Keyring) Seal(plain, ad []byte) []byte {
	ks := k.cur.Load()
	a := ks.aead[ks.active]
	out := make([]byte, 0, len(sealMagic)+1+len(ks.active)+a.NonceSize()+len(plain)+a.Overhead())
	out = append(out, sealMagic...)
	out = append(out, byte(len(ks.active)))
	out = append(out, ks.active...)
	nonce := out[len(out) : len(out)+a.NonceSize()]
	rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	out = out[:len(out)+a.NonceSize()]
	return a.Seal(out, nonce, plain, ad)
}

// OpenUnmarked opens a value in the keyring's envelope written without
// its leading magic, as earlier builds sealed the products' state files:
// key-id length (never 0: key ids are not empty), key id, nonce,
// ciphertext and tag. It only reads that form; Seal writes the marked one.
func (k *Keyring) OpenUnmarked(v, ad []byte) ([]byte, error) {
	if len(v) == 0 || v[0] == 0 {
		return nil, fmt.Errorf("opening an unmarked sealed value: %w", ErrCorrupt)
	}
	return k.Open(append(slices.Clip(sealMagic), v...), ad)
}

// SealedKey reports whether v is a value Seal made, and the id of the key
// it was sealed under.
func SealedKey(v []byte) (string, bool) {
	if !bytes.HasPrefix(v, sealMagic) || len(v) < len(sealMagic)+1 {
		return "", false
	}
	n := int(v[len(sealMagic)])
	if len(v) < len(sealMagic)+1+n {
		return "", true
	}
	return string(v[len(sealMagic)+1 : len(sealMagic)+1+n]), true
}

// Open decrypts a value sealed by Seal; a value in the clear is returned
// as it is. k may be nil (no encryption configured): then a sealed value
// is ErrSealed, one that does not authenticate ErrCorrupt.
func (k *Keyring) Open(v, ad []byte) ([]byte, error) {
	id, ok := SealedKey(v)
	if !ok {
		return v, nil
	}
	if k == nil {
		return nil, fmt.Errorf("opening sealed value: no keyring configured: %w", ErrSealed)
	}
	a := k.cur.Load().aead[id]
	if a == nil {
		return nil, fmt.Errorf("opening sealed value: key %q is not in the key file: %w", id, ErrSealed)
	}
	rest := v[len(sealMagic)+1+len(id):]
	if len(rest) < a.NonceSize()+a.Overhead() {
		return nil, fmt.Errorf("opening sealed value: too short: %w", ErrCorrupt)
	}
	plain, err := a.Open(nil, rest[:a.NonceSize()], rest[a.NonceSize():], ad)
	if err != nil {
		return nil, fmt.Errorf("opening sealed value: authentication failed: %w", ErrCorrupt)
	}
	return plain, nil
}

// PlainLen is the length of the plaintext a stored body value holds: the
// value's length in the clear, less the envelope (AES-GCM: 12-byte nonce,
// 16-byte tag) when sealed.
func PlainLen(v []byte) int {
	id, ok := SealedKey(v)
	if !ok {
		return len(v)
	}
	return len(v) - len(sealMagic) - 1 - len(id) - 12 - 16
}
