package jetstream

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// Subject layout. One stream holds everything under the prefix P (Config.
// Subject), so that one atomic batch can write a message, its indexes and
// its history together. "State" subjects hold one current value (a write
// that may replace one carries Nats-Rollup: sub and, where two writers can
// race, an expected last subject sequence); "log" subjects accumulate.
//
//	P.m.<id>               state: the base record (meta), written once
//	P.b.<id>.<n>           state: chunk n of the message bytes (chunkSize each)
//	P.e.<id>               log: history events after stored; listings
//	                       are in the entry, then in the event removing it
//	P.q.<party>.<id>       state: mailbox entry with lease, deliveries and
//	                       listing times; an empty value is a tombstone
//	                       (expires by TTL)
//	P.x.<id>               state: quarantine entry (with recipient); empty: tombstone
//	P.d.<hash>             state: dedup key → id and sha256, created with
//	                       expected sequence 0 (compare-and-set)
//	P.c.<heen id>          log: ids of the answers of a heenbericht
//	P.r                    log: confirmations, in order, for retention
//	P.f.…                  StUF reference numbers (refs.go) and the
//	                       indexes of exchange API correlations (correlation.go)
//	P.l.<key hex>          state: aanleveringen ledger entry (ledger.go)
//	P.k.<name>             state: janitor cursors; P.k.ping the last
//	                       readiness ping (Ping), with a TTL
//
// Ids appear in their 26-character text form. Party codes made of
// letters, digits and '-' appear as they are, others as "_" and hex.
type subjects struct{ p string }

func (s subjects) meta(id store.ID) string { return s.p + ".m." + id.String() }
func (s subjects) body(id store.ID, chunk int) string {
	return s.p + ".b." + id.String() + "." + strconv.Itoa(chunk)
}
func (s subjects) bodies(id store.ID) string { return s.p + ".b." + id.String() + ".*" }
func (s subjects) events(id store.ID) string { return s.p + ".e." + id.String() }
func (s subjects) entry(party string, id store.ID) string {
	return s.p + ".q." + partyToken(party) + "." + id.String()
}
func (s subjects) mailbox(party string) string   { return s.p + ".q." + partyToken(party) + ".*" }
func (s subjects) allMailboxes() string          { return s.p + ".q.>" }
func (s subjects) quarantine(id store.ID) string { return s.p + ".x." + id.String() }
func (s subjects) allQuarantine() string         { return s.p + ".x.*" }
func (s subjects) allMeta() string               { return s.p + ".m.*" }
func (s subjects) conv(heen store.ID) string     { return s.p + ".c." + heen.String() }
func (s subjects) confirmations() string         { return s.p + ".r" }
func (s subjects) cursor(name string) string     { return s.p + ".k." + name }
func (s subjects) all() string                   { return s.p + ".>" }

func (s subjects) dedup(k store.Key) string {
	h := sha256.New()
	h.Write([]byte(k.Sender))
	h.Write([]byte{0})
	h.Write([]byte(k.Soort))
	h.Write([]byte{0})
	h.Write([]byte(k.Identificatie))
	return s.p + ".d." + hex.EncodeToString(h.Sum(nil))
}

// idFromSubject returns the id in the last token of subj.
func idFromSubject(subj string) (store.ID, error) {
	return store.ParseID(subj[strings.LastIndexByte(subj, '.')+1:])
}

func partyToken(party string) string {
	for i := 0; i < len(party); i++ {
		c := party[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
			return "_" + hex.EncodeToString([]byte(party))
		}
	}
	return party
}

// metaRec is the base record of a message.
type metaRec struct {
	Soort         string   `json:"soort"`
	Sender        string   `json:"from"`
	Recipient     string   `json:"to"`
	Identificatie string   `json:"ident"`
	Received      int64    `json:"received"`
	Validated     int64    `json:"validated,omitempty"`
	Stored        int64    `json:"stored"`
	Size          int64    `json:"size"`
	SHA256        []byte   `json:"sha256"`
	Conversation  store.ID `json:"conv"`
	Chunks        int      `json:"chunks"`
	// Answers is the heenbericht (or 323) the message answers; zero for a
	// heenbericht, and in records written before the field existed.
	Answers store.ID `json:"answers,omitzero"`
	// Correlation is store.Message.Correlation; nil when the message came
	// without, and in records written before the field existed.
	Correlation *correlationRec `json:"corr,omitempty"`
	// Ledger are the aanleveringen ledger keys (hex) the message wrote
	// (ledger.go), for purge; none in records written before the field
	// existed.
	Ledger []string `json:"ledger,omitempty"`
}

// decodeMeta decodes and checks a base record.
func decodeMeta(b []byte) (metaRec, error) {
	var rec metaRec
	if err := decode(b, &rec, "message record"); err != nil {
		return rec, err
	}
	if len(rec.SHA256) != sha256.Size || rec.Chunks < 0 || rec.Size < 0 ||
		int64(rec.Chunks) > (rec.Size+sealOverhead)/chunkSize+1 {
		return metaRec{}, fmt.Errorf("decoding message record: %w", store.ErrCorrupt)
	}
	return rec, nil
}

// entryRec is a mailbox entry, or with Recipient a quarantine entry.
type entryRec struct {
	VisibleAt  int64  `json:"visible,omitempty"`
	Deliveries int    `json:"deliveries"`
	Received   int64  `json:"received"`
	Size       int64  `json:"size"`
	Soort      string `json:"soort"`
	Sender     string `json:"from"`
	Recipient  string `json:"to,omitempty"`
	// SHA256, Conversation and Correlation copy the message's record, so
	// that Pending reads no record per entry. Entries written before they
	// existed lack SHA256; Pending then reads the record.
	SHA256       []byte          `json:"sha256,omitempty"`
	Conversation store.ID        `json:"conv,omitzero"`
	Correlation  *correlationRec `json:"corr,omitempty"`
	// Listed holds the times of the listings that leased the entry since
	// it entered the mailbox. They are its "listed" history events: the
	// lease rewrites the entry anyway, so a listing stores no event of its
	// own, and the event that removes the entry (confirmed, quarantined)
	// carries them on. Entries leased before it existed have their
	// listings as events.
	Listed []int64 `json:"listed,omitempty"`
}

func (r *entryRec) entry(id store.ID, recipient string) store.Entry {
	return store.Entry{ID: id, Soort: r.Soort, Sender: r.Sender, Recipient: recipient,
		Received: unixTime(r.Received), Size: r.Size, Deliveries: r.Deliveries}
}

// pendingEntry is entry with what Pending adds: checksum, conversation
// and correlation.
func (r *entryRec) pendingEntry(id store.ID, recipient string) store.Entry {
	e := r.entry(id, recipient)
	copy(e.SHA256[:], r.SHA256)
	e.Conversation = r.Conversation
	e.Correlation = r.Correlation.correlation()
	return e
}

// eventRec is one history event.
type eventRec struct {
	State store.State `json:"state"`
	At    int64       `json:"at"`
	Ref   *store.ID   `json:"ref,omitempty"`
	// Listed, on an event that removed a mailbox entry, holds the
	// entry's listings (entryRec.Listed).
	Listed []int64 `json:"listed,omitempty"`
}

// dedupRec is the value of a dedup key.
type dedupRec struct {
	ID     store.ID `json:"id"`
	SHA256 []byte   `json:"sha256"`
}

// confirmRec is a confirmation in the retention log.
type confirmRec struct {
	ID store.ID `json:"id"`
	At int64    `json:"at"`
}

// cursorRec is a janitor cursor: everything in the retention log up to Seq
// is done.
type cursorRec struct {
	Seq uint64 `json:"seq"`
}

// encode marshals one of the records above; they hold only strings,
// numbers, byte slices and ids, which always marshal.
func encode(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func decode(b []byte, v any, what string) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decoding %s: %w: %w", what, store.ErrCorrupt, err)
	}
	return nil
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
