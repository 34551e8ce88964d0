package pebble

import (
	"encoding/binary"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// Key layout. Every key starts with a one-byte table tag. Ids are the 16
// raw bytes, so each table sorts by arrival. Party codes, soorten and
// Identificaties never contain NUL (Put checks), so NUL ends them.
//
//	\x00format                        "knooppunt-store/1": marks a directory as ours
//	\x00counters                      pending(8) quarantined(8): persisted gauges
//	\x00lastid                        id: the highest id handed out, the floor after restart
//	m <id> \x00                       base record (recordMeta)
//	m <id> \x01 <at:8> <seq:4>        history event: state(1) [ref id]
//	b <id>                            the message bytes
//	q <party> \x00 <id>               mailbox entry (recordEntry): lease deadline, deliveries
//	h <party>                         mailbox head: no q entry of party sorts below it
//	x <id>                            quarantine entry (recordEntry plus recipient)
//	d <sender> \x00 <soort> \x00 <identificatie>   dedup: id(16) sha256(32)
//	c <heen id> <answer id>           conversation: answers of a heenbericht
//	r p <deadline:8> <id>             retention: payload to remove at deadline
//	r m <deadline:8> <id>             retention: metadata to remove at deadline
//	o <record id>                     an earlier version's outbox record, moved to the feed at Open (trailhead.go)
//	f <seq:8>                         change feed record (feed.go)
//	\x00feedseq                       seq(8): the newest change's position
//	\x00trailhead                     2 seq(8) feed(8) hash: where the audit trail stands (trailhead.go)
//	l k <key:32>                      aanleveringen ledger: status(1) message id(16) (ledger_pebble.go)
//	l m <id> <key:32>                 a ledger key message id wrote, for purge
//
// Mailbox reads start at the head (kept in memory, persisted in h), never
// at the prefix start, so the point tombstones of confirmed entries below
// the head cost nothing; the janitor also range-deletes and compacts the
// span below each head. The retention tables are consumed in deadline
// order and range-deleted as they go.
const (
	tagMeta       = 'm'
	tagBody       = 'b'
	tagQueue      = 'q'
	tagHead       = 'h'
	tagQuarantine = 'x'
	tagDedup      = 'd'
	tagConv       = 'c'
	tagRetention  = 'r'
	tagOutbox     = 'o'
	tagFeed       = 'f'
	tagLedger     = 'l'

	retPayload  = 'p'
	retMetadata = 'm'

	metaBase  = 0x00
	metaEvent = 0x01
)

var (
	keyFormat    = []byte("\x00format")
	keyCounters  = []byte("\x00counters")
	keyLastID    = []byte("\x00lastid")
	keyFeedSeq   = []byte("\x00feedseq")
	keyTrailHead = []byte("\x00trailhead")
	formatValue  = []byte("knooppunt-store/1")
)

func metaKey(id store.ID) []byte {
	k := make([]byte, 0, 18)
	k = append(k, tagMeta)
	k = append(k, id[:]...)
	return append(k, metaBase)
}

// metaSpan bounds all keys of one message's metadata.
func metaSpan(id store.ID) (lo, hi []byte) {
	lo = append([]byte{tagMeta}, id[:]...)
	hi = append(append([]byte{tagMeta}, id[:]...), 0xff)
	return lo, hi
}

func eventKey(id store.ID, at time.Time, seq uint32) []byte {
	k := make([]byte, 0, 30)
	k = append(k, tagMeta)
	k = append(k, id[:]...)
	k = append(k, metaEvent)
	k = binary.BigEndian.AppendUint64(k, uint64(at.UnixNano()))
	return binary.BigEndian.AppendUint32(k, seq)
}

func bodyKey(id store.ID) []byte { return append([]byte{tagBody}, id[:]...) }

func queuePrefix(party string) []byte {
	k := make([]byte, 0, len(party)+18)
	k = append(k, tagQueue)
	k = append(k, party...)
	return append(k, 0)
}

// queueUpper is the exclusive upper bound of party's mailbox.
func queueUpper(party string) []byte {
	k := make([]byte, 0, len(party)+2)
	k = append(k, tagQueue)
	k = append(k, party...)
	return append(k, 1)
}

func queueKey(party string, id store.ID) []byte { return append(queuePrefix(party), id[:]...) }

// queueKeyID returns the id at the end of a mailbox key.
func queueKeyID(k []byte) (store.ID, bool) {
	var id store.ID
	if len(k) < 18 {
		return id, false
	}
	copy(id[:], k[len(k)-16:])
	return id, true
}

func headKey(party string) []byte { return append([]byte{tagHead}, party...) }

func quarantineKey(id store.ID) []byte { return append([]byte{tagQuarantine}, id[:]...) }

func dedupKey(k store.Key) []byte {
	b := make([]byte, 0, 3+len(k.Sender)+len(k.Soort)+len(k.Identificatie))
	b = append(b, tagDedup)
	b = append(b, k.Sender...)
	b = append(b, 0)
	b = append(b, k.Soort...)
	b = append(b, 0)
	return append(b, k.Identificatie...)
}

func convKey(heen, answer store.ID) []byte {
	k := make([]byte, 0, 33)
	k = append(k, tagConv)
	k = append(k, heen[:]...)
	return append(k, answer[:]...)
}

// convKeyAnswer is the answer's id of a conversation key.
func convKeyAnswer(k []byte) (store.ID, bool) {
	var id store.ID
	if len(k) != 1+2*len(id) {
		return id, false
	}
	copy(id[:], k[1+len(id):])
	return id, true
}

func convSpan(heen store.ID) (lo, hi []byte) {
	lo = append([]byte{tagConv}, heen[:]...)
	hi = append(append([]byte{tagConv}, heen[:]...), 0xff)
	return lo, hi
}

func retentionKey(kind byte, deadline time.Time, id store.ID) []byte {
	k := make([]byte, 0, 26)
	k = append(k, tagRetention, kind)
	k = binary.BigEndian.AppendUint64(k, uint64(max(deadline.UnixNano(), 0)))
	return append(k, id[:]...)
}

// retentionBound is the first retention key of kind with a deadline after
// t: the exclusive upper bound of what is due at t.
func retentionBound(kind byte, t time.Time) []byte {
	k := make([]byte, 0, 10)
	k = append(k, tagRetention, kind)
	return binary.BigEndian.AppendUint64(k, uint64(max(t.UnixNano(), 0))+1)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// succ returns the id right after id (the zero ID after the largest).
func succ(id store.ID) store.ID {
	for i := len(id) - 1; i >= 0; i-- {
		id[i]++
		if id[i] != 0 {
			break
		}
	}
	return id
}
