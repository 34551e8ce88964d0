package pebble

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// The values of the tables in keys.go. Every decoder checks lengths and
// fails with ErrCorrupt instead of panicking: the data directory is not
// trusted more than any other input.

const recordVersion = 1

// metaCorrelated is the version of a message record that ends in its
// correlation: traceer(16) conversatie(16) alsAntwoordOp(16) referentieId
// verwerkingscontext.
// A record without one keeps version 1, so records written before
// correlations existed read as they did.
const metaCorrelated = 2

// recordMeta is the base record of a message: what never changes after Put.
// It carries the first steps of the history (received, validated, stored),
// so that Put writes no separate event keys.
type recordMeta struct {
	Soort, Sender, Recipient, Identificatie string
	Received                                time.Time
	Validated                               time.Time // zero: not recorded
	Stored                                  time.Time
	Size                                    int64
	SHA256                                  [32]byte
	Conversation                            store.ID
	Correlation                             *store.Correlation
}

func (r *recordMeta) encode() []byte {
	b := make([]byte, 0, 1+4+len(r.Soort)+len(r.Sender)+len(r.Recipient)+len(r.Identificatie)+10+10+32+16)
	if c := r.Correlation; c != nil {
		b = append(b, metaCorrelated)
		b = append(b, c.Traceer[:]...)
		b = append(b, c.Conversatie[:]...)
		b = append(b, c.AlsAntwoordOp[:]...)
		b = appendString(b, c.ReferentieID)
		b = appendString(b, string(c.Verwerkingscontext))
	} else {
		b = append(b, recordVersion)
	}
	b = appendString(b, r.Soort)
	b = appendString(b, r.Sender)
	b = appendString(b, r.Recipient)
	b = appendString(b, r.Identificatie)
	b = binary.AppendVarint(b, r.Received.UnixNano())
	var validated int64
	if !r.Validated.IsZero() {
		validated = r.Validated.UnixNano()
	}
	b = binary.AppendVarint(b, validated)
	b = binary.AppendVarint(b, r.Stored.UnixNano())
	b = binary.AppendVarint(b, r.Size)
	b = append(b, r.SHA256[:]...)
	return append(b, r.Conversation[:]...)
}

func decodeMeta(b []byte) (recordMeta, error) {
	var r recordMeta
	d := decoder{b: b}
	switch v := d.byte(); v {
	case recordVersion:
	case metaCorrelated:
		c := &store.Correlation{}
		copy(c.Traceer[:], d.bytes(16))
		copy(c.Conversatie[:], d.bytes(16))
		copy(c.AlsAntwoordOp[:], d.bytes(16))
		c.ReferentieID = d.string()
		if v := d.string(); v != "" {
			c.Verwerkingscontext = []byte(v)
		}
		r.Correlation = c
	default:
		return r, fmt.Errorf("decoding message record: version %d: %w", v, store.ErrCorrupt)
	}
	r.Soort = d.string()
	r.Sender = d.string()
	r.Recipient = d.string()
	r.Identificatie = d.string()
	r.Received = time.Unix(0, d.varint()).UTC()
	if v := d.varint(); v != 0 {
		r.Validated = time.Unix(0, v).UTC()
	}
	r.Stored = time.Unix(0, d.varint()).UTC()
	r.Size = d.varint()
	copy(r.SHA256[:], d.bytes(32))
	copy(r.Conversation[:], d.bytes(16))
	if err := d.finish("message record"); err != nil {
		return recordMeta{}, err
	}
	return r, nil
}

// recordEntry is a mailbox entry: the listing line plus lease state. In the
// quarantine table it also carries the recipient.
type recordEntry struct {
	VisibleAt  time.Time // zero: visible now
	Deliveries int
	Received   time.Time
	Size       int64
	Soort      string
	Sender     string
	Recipient  string // quarantine table only
}

func (r *recordEntry) encode(withRecipient bool) []byte {
	b := make([]byte, 0, 1+8+2+20+2+len(r.Soort)+len(r.Sender)+len(r.Recipient))
	b = append(b, recordVersion)
	var vis uint64
	if !r.VisibleAt.IsZero() {
		vis = uint64(max(r.VisibleAt.UnixNano(), 1))
	}
	b = binary.BigEndian.AppendUint64(b, vis)
	b = binary.AppendUvarint(b, uint64(r.Deliveries))
	b = binary.AppendVarint(b, r.Received.UnixNano())
	b = binary.AppendVarint(b, r.Size)
	b = appendString(b, r.Soort)
	b = appendString(b, r.Sender)
	if withRecipient {
		b = appendString(b, r.Recipient)
	}
	return b
}

func decodeEntry(b []byte, withRecipient bool) (recordEntry, error) {
	var r recordEntry
	d := decoder{b: b}
	if v := d.byte(); v != recordVersion {
		return r, fmt.Errorf("decoding mailbox entry: version %d: %w", v, store.ErrCorrupt)
	}
	if vis := d.uint64(); vis != 0 {
		r.VisibleAt = time.Unix(0, int64(vis)).UTC()
	}
	del := d.uvarint()
	if del > 1<<20 {
		d.fail()
	}
	r.Deliveries = int(del)
	r.Received = time.Unix(0, d.varint()).UTC()
	r.Size = d.varint()
	r.Soort = d.string()
	r.Sender = d.string()
	if withRecipient {
		r.Recipient = d.string()
	}
	if err := d.finish("mailbox entry"); err != nil {
		return recordEntry{}, err
	}
	return r, nil
}

func (r *recordEntry) entry(id store.ID, recipient string) store.Entry {
	return store.Entry{ID: id, Soort: r.Soort, Sender: r.Sender, Recipient: recipient,
		Received: r.Received, Size: r.Size, Deliveries: r.Deliveries}
}

// encodeEvent is the value of a history event.
func encodeEvent(s store.State, ref store.ID) []byte {
	if ref.IsZero() {
		return []byte{byte(s)}
	}
	return append([]byte{byte(s)}, ref[:]...)
}

// decodeEvent decodes a history event from its key suffix (after the
// metaEvent byte) and value.
func decodeEvent(keySuffix, value []byte) (store.Event, error) {
	var e store.Event
	if len(keySuffix) != 12 || (len(value) != 1 && len(value) != 17) {
		return e, fmt.Errorf("decoding history event: %w", store.ErrCorrupt)
	}
	e.At = time.Unix(0, int64(binary.BigEndian.Uint64(keySuffix))).UTC()
	e.State = store.State(value[0])
	if e.State < store.StateReceived || e.State > store.StateExpired {
		return store.Event{}, fmt.Errorf("decoding history event: state %d: %w", value[0], store.ErrCorrupt)
	}
	if len(value) == 17 {
		copy(e.Ref[:], value[1:])
	}
	return e, nil
}

// dedupValue is the id a dedup key maps to and the sha256 of its bytes.
func encodeDedup(id store.ID, sum [32]byte) []byte {
	return append(append(make([]byte, 0, 48), id[:]...), sum[:]...)
}

func decodeDedup(b []byte) (store.ID, [32]byte, error) {
	var id store.ID
	var sum [32]byte
	if len(b) != 48 {
		return id, sum, fmt.Errorf("decoding dedup entry: length %d: %w", len(b), store.ErrCorrupt)
	}
	copy(id[:], b)
	copy(sum[:], b[16:])
	return id, sum, nil
}

func decodeID(b []byte, what string) (store.ID, error) {
	var id store.ID
	if len(b) != len(id) {
		return id, fmt.Errorf("decoding %s: length %d: %w", what, len(b), store.ErrCorrupt)
	}
	copy(id[:], b)
	return id, nil
}

// counters are the persisted gauges.
type counters struct{ pending, quarantined int64 }

func (c counters) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(c.pending))
	return binary.BigEndian.AppendUint64(b, uint64(c.quarantined))
}

func decodeCounters(b []byte) (counters, error) {
	if len(b) != 16 {
		return counters{}, fmt.Errorf("decoding counters: length %d: %w", len(b), store.ErrCorrupt)
	}
	return counters{int64(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint64(b[8:]))}, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decoder reads a record; the first short read makes every later read
// return zero values and finish report ErrCorrupt.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) fail() { d.bad, d.b = true, nil }

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bytes(n int) []byte {
	if n < 0 || len(d.b) < n {
		d.fail()
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) uint64() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	return string(d.bytes(int(n)))
}

func (d *decoder) finish(what string) error {
	if d.bad || len(d.b) != 0 {
		return fmt.Errorf("decoding %s: %w", what, store.ErrCorrupt)
	}
	return nil
}
