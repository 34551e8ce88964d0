package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// maxScan bounds the mailbox entries one List looks at, so a mailbox full
// of leased messages cannot make a poll expensive.
const maxScan = 4 * MaxListLimit * 10

func checkField(what, v string, maxLen int) error {
	switch {
	case v == "":
		return fmt.Errorf("%s is empty: %w", what, ErrInvalid)
	case len(v) > maxLen:
		return fmt.Errorf("%s is %d bytes, at most %d: %w", what, len(v), maxLen, ErrInvalid)
	case strings.IndexByte(v, 0) >= 0:
		return fmt.Errorf("%s contains NUL: %w", what, ErrInvalid)
	}
	return nil
}

func checkParty(party string) error { return checkField("party", party, MaxPartyLen) }

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxListLimit {
		return fmt.Errorf("limit %d outside 1..%d: %w", limit, MaxListLimit, ErrInvalid)
	}
	return nil
}

// Put stores msg; see Store.Put. If ctx ends before the message reaches
// the committer, Put returns ctx's error and nothing is written; once it
// has, Put waits for that commit (one fsync) whatever ctx does, so an
// error from Put always means the message was not stored.
func (p *Pebble) Put(ctx context.Context, msg *Message) (Receipt, error) {
	if msg == nil {
		return Receipt{}, fmt.Errorf("storing message: nil: %w", ErrInvalid)
	}
	for _, f := range []struct {
		what, v string
		max     int
	}{
		{"soort", msg.Soort, MaxFieldLen},
		{"sender", msg.Sender, MaxPartyLen},
		{"recipient", msg.Recipient, MaxPartyLen},
		{"identificatie", msg.Identificatie, MaxFieldLen},
	} {
		if err := checkField(f.what, f.v, f.max); err != nil {
			return Receipt{}, fmt.Errorf("storing message: %w", err)
		}
	}
	if len(msg.Body) == 0 {
		return Receipt{}, fmt.Errorf("storing message: empty body: %w", ErrInvalid)
	}
	if len(msg.Record) > MaxRecordLen {
		return Receipt{}, fmt.Errorf("storing message: record of %d bytes, over %d: %w", len(msg.Record), MaxRecordLen, ErrInvalid)
	}
	corr := msg.Correlation
	if corr != nil {
		if err := corr.Check(); err != nil {
			return Receipt{}, fmt.Errorf("storing message: %w", err)
		}
		c := *corr // the store keeps no reference to the caller's
		c.Verwerkingscontext = bytes.Clone(c.Verwerkingscontext)
		corr = &c
	}
	sum := msg.SHA256
	if sum == ([32]byte{}) {
		sum = sha256.Sum256(msg.Body)
	}
	dkey := dedupKey(msg.Key())
	rec := recordMeta{
		Soort: msg.Soort, Sender: msg.Sender, Recipient: msg.Recipient,
		Identificatie: msg.Identificatie, Received: msg.Received.UTC(),
		Validated: msg.Validated.UTC(), Size: int64(len(msg.Body)), SHA256: sum,
		Correlation: corr,
	}
	bodyValue := p.sealBody(msg.Body, sum) // encryption at rest, outside the committer's loop
	var receipt Receipt
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		if v, err := w.get(dkey); err == nil {
			orig, osum, err := decodeDedup(v)
			if err != nil {
				return err
			}
			if osum != sum {
				w.stats.conflicts++
				return &DuplicateError{Key: msg.Key(), Original: orig}
			}
			if corr != nil { // a resend may come under a traceerId of its own
				indexed, err := w.checkTraceer(orig, corr)
				if err != nil {
					return err
				}
				if err := w.indexCorrelation(orig, corr, indexed, true); err != nil {
					return err
				}
			}
			w.stats.duplicates++
			receipt = Receipt{ID: orig, Duplicate: true}
			w.record(orig, msg.Record)
			return nil
		} else if !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("reading dedup index: %w", err)
		}
		if corr != nil {
			if _, err := w.checkTraceer(ID{}, corr); err != nil {
				return err
			}
		}
		conv := ID{}
		if !msg.Answers.IsZero() {
			v, err := w.get(metaKey(msg.Answers))
			if errors.Is(err, ErrNotFound) {
				return fmt.Errorf("storing answer: heenbericht %s: %w", msg.Answers, ErrNotFound)
			} else if err != nil {
				return fmt.Errorf("reading heenbericht: %w", err)
			}
			heen, err := decodeMeta(v)
			if err != nil {
				return err
			}
			conv = heen.Conversation
		}
		id := w.nextID()
		if conv.IsZero() {
			conv = id
		}
		r := rec
		r.Conversation = conv
		if r.Received.IsZero() {
			r.Received = w.now
		}
		r.Stored = w.now
		w.set(metaKey(id), r.encode())
		w.set(bodyKey(id), bodyValue) // sealed before the committer: see seal.go
		e := recordEntry{Received: r.Received, Size: r.Size, Soort: r.Soort, Sender: r.Sender}
		w.set(queueKey(msg.Recipient, id), e.encode(false))
		w.set(dkey, encodeDedup(id, sum))
		if corr != nil {
			if err := w.indexCorrelation(id, corr, false, false); err != nil {
				return err
			}
		}
		if !msg.Answers.IsZero() {
			w.set(convKey(conv, id), nil)
			w.event(msg.Answers, StateRetourReceived, w.now, id)
		}
		w.delta.pending++
		w.stats.puts++
		receipt = Receipt{ID: id}
		w.record(id, msg.Record)
		w.change(Change{Op: OpPut, ID: id, Soort: r.Soort, Sender: r.Sender, Recipient: msg.Recipient,
			Received: r.Received, Answers: msg.Answers, Size: r.Size, SHA256: sum})
		return nil
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("storing message: %w", err)
	}
	return receipt, nil
}

// List leases and returns visible messages; see Store.List.
func (p *Pebble) List(ctx context.Context, party string, limit int) ([]Entry, error) {
	if err := checkParty(party); err != nil {
		return nil, fmt.Errorf("listing mailbox: %w", err)
	}
	if err := checkLimit(limit); err != nil {
		return nil, fmt.Errorf("listing mailbox: %w", err)
	}
	out := make([]Entry, 0, min(limit, 16))
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		out = out[:0]
		h, err := w.head(party)
		if err != nil {
			return err
		}
		// Start at the head, or past the run of leased entries that the
		// last List left at the front of the mailbox while those leases
		// hold: a poller that leases page after page must not rescan them.
		start, skip := h, w.p.state.skips[party]
		resumed := !skip.at.IsZero() && w.now.Before(skip.until) && h.less(skip.at)
		if resumed {
			start = skip.at
		}
		lo := queuePrefix(party)
		if !start.IsZero() {
			lo = queueKey(party, start)
		}
		it, err := w.b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: queueUpper(party)})
		if err != nil {
			return fmt.Errorf("scanning mailbox: %w", err)
		}
		type change struct {
			id  ID
			rec recordEntry
		}
		var deliver, quarantine []change
		var last ID // the last entry scanned
		until := w.now.Add(w.p.cfg.VisibilityTimeout)
		if resumed {
			until = skip.until
		}
		scanned := 0
		for ok := it.First(); ok && len(deliver) < limit && scanned < maxScan; ok = it.Next() {
			scanned++
			id, _ := queueKeyID(it.Key())
			last = id
			v, err := it.ValueAndErr()
			if err != nil {
				_ = it.Close()
				return fmt.Errorf("reading mailbox entry: %w", err)
			}
			rec, err := decodeEntry(v, false)
			if err != nil {
				_ = it.Close()
				return err
			}
			if rec.VisibleAt.After(w.now) {
				if rec.VisibleAt.Before(until) {
					until = rec.VisibleAt
				}
				continue // leased
			}
			if rec.Deliveries >= w.p.cfg.MaxDeliveries {
				quarantine = append(quarantine, change{id, rec})
				continue
			}
			deliver = append(deliver, change{id, rec})
		}
		if err := it.Close(); err != nil {
			return fmt.Errorf("scanning mailbox: %w", err)
		}
		// Everything scanned is now leased (or quarantined) until at
		// least until: the next List may start after it.
		if scanned > 0 {
			w.p.state.skips[party] = skipRun{at: last.succ(), until: until}
		}
		for _, c := range deliver {
			c.rec.Deliveries++
			c.rec.VisibleAt = w.now.Add(w.p.cfg.VisibilityTimeout)
			w.set(queueKey(party, c.id), c.rec.encode(false))
			w.event(c.id, StateListed, w.now, ID{})
			out = append(out, c.rec.entry(c.id, party))
		}
		for _, c := range quarantine {
			c.rec.VisibleAt = time.Time{}
			c.rec.Recipient = party
			w.del(queueKey(party, c.id))
			w.set(quarantineKey(c.id), c.rec.encode(true))
			w.event(c.id, StateQuarantined, w.now, ID{})
			w.change(Change{Op: OpQuarantine, ID: c.id, Soort: c.rec.Soort, Sender: c.rec.Sender, Recipient: party})
			w.delta.pending--
			w.delta.quarantined++
		}
		for _, c := range quarantine {
			if err := w.removed(party, c.id); err != nil {
				return err
			}
		}
		w.stats.deliveries += int64(len(deliver))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing mailbox: %w", err)
	}
	if len(out) > 0 {
		p.log.Debug().Str("party", party).Int("count", len(out)).Msg("mailbox listed")
	}
	return out, nil
}

// Pending lists a mailbox without leasing; see Store.Pending. It reads a
// snapshot outside the committer, from the mailbox head, so the entries
// of confirmed messages below the head are not scanned.
func (p *Pebble) Pending(ctx context.Context, party string, limit int) ([]Entry, error) {
	if err := checkParty(party); err != nil {
		return nil, fmt.Errorf("listing pending messages: %w", err)
	}
	if err := checkLimit(limit); err != nil {
		return nil, fmt.Errorf("listing pending messages: %w", err)
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	out, err := p.pending(ctx, party, limit)
	if err != nil {
		return nil, fmt.Errorf("listing pending messages: %w", err)
	}
	return out, nil
}

func (p *Pebble) pending(ctx context.Context, party string, limit int) ([]Entry, error) {
	snap := p.db.NewSnapshot()
	defer snap.Close()
	lo := queuePrefix(party)
	switch v, err := getFrom(snap, headKey(party)); {
	case err == nil:
		h, err := decodeID(v, "mailbox head")
		if err != nil {
			return nil, err
		}
		if !h.IsZero() {
			lo = queueKey(party, h)
		}
	case !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("reading mailbox head: %w", err)
	}
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: queueUpper(party)})
	if err != nil {
		return nil, fmt.Errorf("scanning mailbox: %w", err)
	}
	defer it.Close()
	// The records are read with one iterator that only moves forward: the
	// mailbox is in id order, and so are the records.
	mit, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{tagMeta}, UpperBound: []byte{tagMeta + 1}})
	if err != nil {
		return nil, fmt.Errorf("reading metadata: %w", err)
	}
	defer mit.Close()
	now := p.cfg.Now().UTC()
	out := make([]Entry, 0, min(limit, 16))
	scanned := 0
	for ok := it.First(); ok && len(out) < limit && scanned < maxScan; ok = it.Next() {
		if scanned++; scanned%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		id, ok := queueKeyID(it.Key())
		if !ok {
			return nil, fmt.Errorf("mailbox key: %w", ErrCorrupt)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("reading mailbox entry: %w", err)
		}
		rec, err := decodeEntry(v, false)
		if err != nil {
			return nil, err
		}
		if rec.VisibleAt.After(now) || rec.Deliveries >= p.cfg.MaxDeliveries {
			continue // leased, or due for quarantine
		}
		e := rec.entry(id, party)
		mk := metaKey(id)
		if !mit.SeekGE(mk) || !bytes.Equal(mit.Key(), mk) {
			if err := mit.Error(); err != nil {
				return nil, fmt.Errorf("reading metadata of %s: %w", id, err)
			}
			return nil, fmt.Errorf("mailbox entry %s without its record: %w", id, ErrCorrupt)
		}
		mv, err := mit.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("reading metadata of %s: %w", id, err)
		}
		m, err := decodeMeta(mv)
		if err != nil {
			return nil, err
		}
		e.SHA256, e.Conversation, e.Correlation = m.SHA256, m.Conversation, m.Correlation
		out = append(out, e)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("scanning mailbox: %w", err)
	}
	return out, nil
}

// Ack confirms a message; see Store.Ack.
func (p *Pebble) Ack(ctx context.Context, party string, id ID) error {
	if err := checkParty(party); err != nil {
		return fmt.Errorf("confirming message: %w", err)
	}
	if id.IsZero() {
		return fmt.Errorf("confirming message: zero id: %w", ErrInvalid)
	}
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		qk := queueKey(party, id)
		v, err := w.get(qk)
		var rec recordEntry
		switch {
		case err == nil:
			if rec, err = decodeEntry(v, false); err != nil {
				return err
			}
			w.del(qk)
			w.delta.pending--
			if err := w.removed(party, id); err != nil {
				return err
			}
		case !errors.Is(err, ErrNotFound):
			return fmt.Errorf("reading mailbox entry: %w", err)
		default:
			v, err := w.get(quarantineKey(id))
			switch {
			case err == nil:
				if rec, err = decodeEntry(v, true); err != nil {
					return err
				}
				if rec.Recipient != party {
					return ErrNotFound
				}
				w.del(quarantineKey(id))
				w.delta.quarantined--
			case !errors.Is(err, ErrNotFound):
				return fmt.Errorf("reading quarantine: %w", err)
			default:
				// Not pending: confirmed before (idempotent) or unknown.
				v, err := w.get(metaKey(id))
				if err != nil {
					return err
				}
				rec, err := decodeMeta(v)
				if err != nil {
					return err
				}
				if rec.Recipient != party {
					return ErrNotFound
				}
				return nil
			}
		}
		w.event(id, StateConfirmed, w.now, ID{})
		w.change(Change{Op: OpAck, ID: id, Soort: rec.Soort, Sender: rec.Sender, Recipient: party})
		w.set(retentionKey(retPayload, w.now.Add(w.p.cfg.PayloadRetention), id), nil)
		w.set(retentionKey(retMetadata, w.now.Add(w.p.cfg.MetadataRetention), id), nil)
		w.stats.acks++
		return nil
	})
	if err != nil {
		return fmt.Errorf("confirming message %s: %w", id, err)
	}
	return nil
}

// Release returns a quarantined message to its mailbox; see Store.Release.
func (p *Pebble) Release(ctx context.Context, id ID) error {
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		v, err := w.get(quarantineKey(id))
		if err != nil {
			return err
		}
		rec, err := decodeEntry(v, true)
		if err != nil {
			return err
		}
		party := rec.Recipient
		h, err := w.head(party)
		if err != nil {
			return err
		}
		w.del(quarantineKey(id))
		rec.Deliveries, rec.VisibleAt, rec.Recipient = 0, time.Time{}, ""
		w.set(queueKey(party, id), rec.encode(false))
		w.event(id, StateReleased, w.now, ID{})
		w.change(Change{Op: OpRelease, ID: id, Soort: rec.Soort, Sender: rec.Sender, Recipient: party})
		if id.less(h) {
			w.setHead(party, id)
		}
		delete(w.p.state.skips, party)
		w.delta.quarantined--
		w.delta.pending++
		return nil
	})
	if err != nil {
		return fmt.Errorf("releasing message %s: %w", id, err)
	}
	return nil
}

// Get returns a message's bytes to its recipient; see Store.Get.
func (p *Pebble) Get(ctx context.Context, party string, id ID) ([]byte, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	rec, err := p.meta(id)
	if err != nil {
		return nil, fmt.Errorf("reading message %s: %w", id, err)
	}
	if rec.Recipient != party {
		return nil, fmt.Errorf("reading message %s: %w", id, ErrNotFound)
	}
	body, err := p.get(bodyKey(id))
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("reading message %s: %w", id, ErrExpired)
	} else if err != nil {
		return nil, fmt.Errorf("reading message %s: %w", id, err)
	}
	if body, err = p.openBody(body, rec.SHA256); err != nil { // encryption at rest: see seal.go
		return nil, fmt.Errorf("reading message %s: %w", id, err)
	}
	return body, nil
}

func (p *Pebble) meta(id ID) (recordMeta, error) {
	v, err := p.get(metaKey(id))
	if err != nil {
		return recordMeta{}, err
	}
	return decodeMeta(v)
}

// Meta returns a message's metadata and history; see Store.Meta.
func (p *Pebble) Meta(ctx context.Context, id ID) (*Meta, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	m, err := p.fullMeta(id)
	if err != nil {
		return nil, fmt.Errorf("reading metadata of %s: %w", id, err)
	}
	return m, nil
}

func (p *Pebble) fullMeta(id ID) (*Meta, error) {
	lo, hi := metaSpan(id)
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.First() {
		if err := it.Error(); err != nil {
			return nil, err
		}
		return nil, ErrNotFound
	}
	if !bytes.Equal(it.Key(), metaKey(id)) {
		return nil, fmt.Errorf("history without record: %w", ErrCorrupt)
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return nil, err
	}
	rec, err := decodeMeta(v)
	if err != nil {
		return nil, err
	}
	m := &Meta{ID: id, Soort: rec.Soort, Sender: rec.Sender, Recipient: rec.Recipient,
		Identificatie: rec.Identificatie, Received: rec.Received, Size: rec.Size,
		SHA256: rec.SHA256, Conversation: rec.Conversation, Correlation: rec.Correlation}
	m.History = append(m.History, Event{State: StateReceived, At: rec.Received})
	if !rec.Validated.IsZero() {
		m.History = append(m.History, Event{State: StateValidated, At: rec.Validated})
	}
	m.History = append(m.History, Event{State: StateStored, At: rec.Stored})
	for it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, err
		}
		e, err := decodeEvent(it.Key()[len(lo)+1:], v)
		if err != nil {
			return nil, err
		}
		m.History = append(m.History, e)
	}
	if err := it.Error(); err != nil {
		return nil, err
	}
	// Received and validated come from the gateway's clock, the rest from
	// the store's; the state is the latest step after stored.
	m.State = m.History[len(m.History)-1].State
	return m, nil
}

// Lookup finds a message by dedup key; see Store.Lookup.
func (p *Pebble) Lookup(ctx context.Context, key Key) (*Meta, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	v, err := p.get(dedupKey(key))
	if err != nil {
		return nil, fmt.Errorf("looking up message: %w", err)
	}
	id, _, err := decodeDedup(v)
	if err != nil {
		return nil, fmt.Errorf("looking up message: %w", err)
	}
	m, err := p.fullMeta(id)
	if err != nil {
		return nil, fmt.Errorf("looking up message %s: %w", id, err)
	}
	return m, nil
}

// Conversation returns a heenbericht and its answers; see
// Store.Conversation.
func (p *Pebble) Conversation(ctx context.Context, id ID) ([]*Meta, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	m, err := p.fullMeta(id)
	if err != nil {
		return nil, fmt.Errorf("reading conversation of %s: %w", id, err)
	}
	root := m
	if m.Conversation != id {
		if root, err = p.fullMeta(m.Conversation); err != nil {
			return nil, fmt.Errorf("reading conversation of %s: heenbericht %s: %w", id, m.Conversation, err)
		}
	}
	out := []*Meta{root}
	lo, hi := convSpan(root.ID)
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, fmt.Errorf("reading conversation of %s: %w", id, err)
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		aid, err := decodeID(it.Key()[len(lo):], "conversation entry")
		if err != nil {
			return nil, err
		}
		a, err := p.fullMeta(aid)
		if errors.Is(err, ErrNotFound) {
			continue // purged by retention
		} else if err != nil {
			return nil, fmt.Errorf("reading conversation of %s: %w", id, err)
		}
		out = append(out, a)
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("reading conversation of %s: %w", id, err)
	}
	return out, nil
}

// Quarantined lists quarantined messages; see Store.Quarantined.
func (p *Pebble) Quarantined(ctx context.Context, after ID, limit int) ([]Entry, error) {
	if err := checkLimit(limit); err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	lo := []byte{tagQuarantine}
	if !after.IsZero() {
		lo = quarantineKey(after.succ())
	}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: []byte{tagQuarantine + 1}})
	if err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}
	defer it.Close()
	var out []Entry
	for ok := it.First(); ok && len(out) < limit; ok = it.Next() {
		id, err := decodeID(it.Key()[1:], "quarantine key")
		if err != nil {
			return nil, err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, fmt.Errorf("listing quarantine: %w", err)
		}
		rec, err := decodeEntry(v, true)
		if err != nil {
			return nil, fmt.Errorf("listing quarantine: %w", err)
		}
		out = append(out, rec.entry(id, rec.Recipient))
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}
	return out, nil
}
