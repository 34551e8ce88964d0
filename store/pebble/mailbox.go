package pebble

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/knooppunt/knooppunt/store"
)

// maxScan bounds the mailbox entries one List looks at, so a mailbox full
// of leased messages cannot make a poll expensive.
const maxScan = 4 * store.MaxListLimit * 10

func checkParty(party string) error { return store.CheckField("party", party, store.MaxPartyLen) }

// Put stores msg; see store.Store.Put. If ctx ends before the message reaches
// the committer, Put returns ctx's error and nothing is written; once it
// has, Put waits for that commit (one fsync) whatever ctx does, so an
// error from Put always means the message was not stored.
func (p *Store) Put(ctx context.Context, msg *store.Message) (store.Receipt, error) {
	pl, err := p.planPut(msg)
	if err != nil {
		return store.Receipt{}, fmt.Errorf("storing message: %w", err)
	}
	var receipt store.Receipt
	err = p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		orig, dup, conv, err := w.checkPut(pl)
		if err != nil {
			return err
		}
		if dup {
			if err := w.resent(pl, orig); err != nil {
				return err
			}
			receipt = store.Receipt{ID: orig, Duplicate: true}
			return nil
		}
		id, err := w.applyPut(pl, conv, true)
		receipt = store.Receipt{ID: id}
		return err
	})
	if err != nil {
		return store.Receipt{}, fmt.Errorf("storing message: %w", err)
	}
	return receipt, nil
}

// putPlan is a message checked and prepared for the committer.
type putPlan struct {
	msg  *store.Message
	corr *store.Correlation  // a copy of msg's
	aanl []store.Aanlevering // a copy of msg's; nil for a message the ledger does not see
	// ledger is each key's status after the message, planned by
	// checkLedger in the committer.
	ledger []store.Aanlevering
	sum    [32]byte
	dkey   []byte
	rec    recordMeta
	body   []byte // as stored (sealed when encryption is on)
}

// planPut checks msg and prepares what the committer writes, outside its
// loop (hashing, sealing).
func (p *Store) planPut(msg *store.Message) (*putPlan, error) {
	if msg == nil {
		return nil, fmt.Errorf("nil message: %w", store.ErrInvalid)
	}
	for _, f := range []struct {
		what, v string
		max     int
	}{
		{"soort", msg.Soort, store.MaxFieldLen},
		{"sender", msg.Sender, store.MaxPartyLen},
		{"recipient", msg.Recipient, store.MaxPartyLen},
		{"identificatie", msg.Identificatie, store.MaxFieldLen},
	} {
		if err := store.CheckField(f.what, f.v, f.max); err != nil {
			return nil, err
		}
	}
	if len(msg.Body) == 0 {
		return nil, fmt.Errorf("empty body: %w", store.ErrInvalid)
	}
	if r := msg.Reception; r != nil && len(r.Principal)+len(r.Remote) > store.MaxReceptionLen {
		return nil, fmt.Errorf("reception of %d bytes, over %d: %w", len(r.Principal)+len(r.Remote), store.MaxReceptionLen, store.ErrInvalid)
	}
	pl := &putPlan{msg: msg, sum: msg.SHA256, dkey: dedupKey(msg.Key())}
	if c := msg.Correlation; c != nil {
		if err := c.Check(); err != nil {
			return nil, err
		}
		cc := *c // the store keeps no reference to the caller's
		cc.Verwerkingscontext = bytes.Clone(c.Verwerkingscontext)
		pl.corr = &cc
	}
	if len(msg.Aanleveringen) > 0 {
		if err := store.CheckAanleveringen(msg.Aanleveringen); err != nil {
			return nil, err
		}
		pl.aanl = slices.Clone(msg.Aanleveringen)
	}
	if pl.sum == ([32]byte{}) {
		pl.sum = sha256.Sum256(msg.Body)
	}
	pl.rec = recordMeta{
		Soort: msg.Soort, Sender: msg.Sender, Recipient: msg.Recipient,
		Identificatie: msg.Identificatie, Received: msg.Received.UTC(),
		Validated: msg.Validated.UTC(), Size: int64(len(msg.Body)), SHA256: pl.sum,
		Correlation: pl.corr,
	}
	pl.body = p.sealBody(msg.Body, pl.sum) // encryption at rest, outside the committer's loop
	return pl, nil
}

// checkPut reads what storing pl needs and writes nothing: an identical
// resend gives the original's id and dup; otherwise the conversation the
// message joins (zero: its own), with pl's ledger planned. The same key
// with other bytes is a *DuplicateError, a taken traceerId
// ErrTraceerTaken, an answer to an unknown heenbericht ErrNotFound,
// aanleveringen the ledger refuses an *AanleveringError.
func (w *writer) checkPut(pl *putPlan) (orig store.ID, dup bool, conv store.ID, err error) {
	msg := pl.msg
	if v, err := w.get(pl.dkey); err == nil {
		orig, osum, err := decodeDedup(v)
		if err != nil {
			return store.ID{}, false, store.ID{}, err
		}
		if osum != pl.sum {
			w.stats.conflicts++
			return store.ID{}, false, store.ID{}, &store.DuplicateError{Key: msg.Key(), Original: orig}
		}
		return orig, true, store.ID{}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.ID{}, false, store.ID{}, fmt.Errorf("reading dedup index: %w", err)
	}
	if pl.corr != nil {
		if _, err := w.checkTraceer(store.ID{}, pl.corr); err != nil {
			return store.ID{}, false, store.ID{}, err
		}
	}
	if !msg.Answers.IsZero() {
		heen, err := w.metaRecord(msg.Answers)
		if errors.Is(err, store.ErrNotFound) {
			return store.ID{}, false, store.ID{}, fmt.Errorf("storing answer: heenbericht %s: %w", msg.Answers, store.ErrNotFound)
		} else if err != nil {
			return store.ID{}, false, store.ID{}, fmt.Errorf("reading heenbericht: %w", err)
		}
		conv = heen.Conversation
	}
	if err := w.checkLedger(pl); err != nil {
		return store.ID{}, false, store.ID{}, err
	}
	return store.ID{}, false, conv, nil
}

// metaRecord reads message id's record in the writer's batch.
func (w *writer) metaRecord(id store.ID) (recordMeta, error) {
	v, err := w.get(metaKey(id))
	if err != nil {
		return recordMeta{}, err
	}
	return decodeMeta(v)
}

// resent records an identical resend of message orig: a traceerId of its
// own is indexed, and its audit record kept.
func (w *writer) resent(pl *putPlan, orig store.ID) error {
	if pl.corr != nil { // a resend may come under a traceerId of its own
		indexed, err := w.checkTraceer(orig, pl.corr)
		if err != nil {
			return err
		}
		if err := w.indexCorrelation(orig, pl.corr, indexed, true); err != nil {
			return err
		}
	}
	w.stats.duplicates++
	if pl.msg.Reception != nil {
		w.change(store.Change{Op: store.OpReceived, ID: orig, Soort: pl.rec.Soort, Sender: pl.rec.Sender,
			Recipient: pl.msg.Recipient, Reception: pl.msg.Reception})
	}
	return nil
}

// applyPut writes pl, checked by checkPut, as a new message in conversation
// conv (zero: its own), filed in its recipient's mailbox when queue, and
// returns its id.
func (w *writer) applyPut(pl *putPlan, conv store.ID, queue bool) (store.ID, error) {
	msg := pl.msg
	id := w.nextID()
	if conv.IsZero() {
		conv = id
	}
	r := pl.rec
	r.Conversation = conv
	if r.Received.IsZero() {
		r.Received = w.now
	}
	r.Stored = w.now
	w.set(metaKey(id), r.encode())
	w.set(bodyKey(id), pl.body) // sealed before the committer: see seal.go
	if queue {
		e := recordEntry{Received: r.Received, Size: r.Size, Soort: r.Soort, Sender: r.Sender}
		w.set(queueKey(msg.Recipient, id), e.encode(false))
		w.delta.pending++
	}
	w.set(pl.dkey, encodeDedup(id, pl.sum))
	if pl.corr != nil {
		if err := w.indexCorrelation(id, pl.corr, false, false); err != nil {
			return id, err
		}
	}
	if !msg.Answers.IsZero() {
		w.set(convKey(conv, id), nil)
		w.event(msg.Answers, store.StateRetourReceived, w.now, id)
	}
	w.writeLedger(pl, id)
	w.stats.puts++
	w.change(store.Change{Op: store.OpPut, ID: id, Soort: r.Soort, Sender: r.Sender, Recipient: msg.Recipient,
		Received: r.Received, Answers: msg.Answers, Size: r.Size, SHA256: pl.sum, Reception: msg.Reception})
	return id, nil
}

// confirmed records message id, never filed in party's mailbox, as
// confirmed there: the history, the feed, the retention.
func (w *writer) confirmed(party string, id store.ID, soort, sender string) {
	w.event(id, store.StateConfirmed, w.now, store.ID{})
	w.change(store.Change{Op: store.OpAck, ID: id, Soort: soort, Sender: sender, Recipient: party})
	w.set(retentionKey(retPayload, w.now.Add(w.p.cfg.PayloadRetention), id), nil)
	w.set(retentionKey(retMetadata, w.now.Add(w.p.cfg.MetadataRetention), id), nil)
	w.stats.acks++
}

// PutAnswered stores a heenbericht the switch answers itself and its
// answer in one synced commit; see store.Store.PutAnswered.
func (p *Store) PutAnswered(ctx context.Context, heen, answer *store.Message) (store.Receipt, store.Receipt, error) {
	if heen == nil || answer == nil {
		return store.Receipt{}, store.Receipt{}, fmt.Errorf("storing answered heenbericht: nil message: %w", store.ErrInvalid)
	}
	// Neither is delivered as a heenbericht, so the ledger sees neither.
	h := *heen
	h.Aanleveringen = nil
	hp, err := p.planPut(&h)
	if err != nil {
		return store.Receipt{}, store.Receipt{}, fmt.Errorf("storing answered heenbericht: %w", err)
	}
	a := *answer
	a.Aanleveringen = nil
	ap, err := p.planPut(&a)
	if err != nil {
		return store.Receipt{}, store.Receipt{}, fmt.Errorf("storing the answer: %w", err)
	}
	var hr, ar store.Receipt
	err = p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		hr, ar = store.Receipt{}, store.Receipt{}
		ap.msg.Answers = store.ID{}
		orig, dup, _, err := w.checkPut(hp)
		if err != nil {
			return err
		}
		if dup {
			done, err := w.answeredBefore(hp, orig, &hr, &ar)
			if err != nil || done {
				return err
			}
		}
		// The answer's own key must be free before anything is written.
		if _, adup, _, err := w.checkPut(ap); err != nil {
			return err
		} else if adup {
			return fmt.Errorf("the answer's key is taken by another message: %w", store.ErrDuplicate)
		}
		heenID := orig
		if dup {
			if err := w.ack(heen.Recipient, heenID); err != nil {
				return err
			}
		} else {
			if heenID, err = w.applyPut(hp, store.ID{}, false); err != nil {
				return err
			}
			hr = store.Receipt{ID: heenID}
			w.confirmed(heen.Recipient, heenID, heen.Soort, heen.Sender)
		}
		ap.msg.Answers = heenID
		ansID, err := w.applyPut(ap, heenID, true)
		ar = store.Receipt{ID: ansID}
		return err
	})
	if err != nil {
		return store.Receipt{}, store.Receipt{}, fmt.Errorf("storing answered heenbericht: %w", err)
	}
	return hr, ar, nil
}

// answeredBefore handles a resend of an answered heenbericht orig: true
// with both receipts when it was answered before, or when it went to
// another mailbox (its recipient answered it); false when it was stored
// in its own mailbox but not yet answered (a store that took the two
// apart), which the caller completes.
func (w *writer) answeredBefore(hp *putPlan, orig store.ID, hr, ar *store.Receipt) (bool, error) {
	if err := w.resent(hp, orig); err != nil {
		return true, err
	}
	*hr = store.Receipt{ID: orig, Duplicate: true}
	rec, err := w.metaRecord(orig)
	if err != nil {
		return true, err
	}
	if rec.Recipient != hp.msg.Recipient {
		return true, nil // delivered to its recipient before
	}
	lo, hi := convSpan(orig)
	it, err := w.b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return true, fmt.Errorf("reading the conversation: %w", err)
	}
	var ans store.ID
	found := it.First()
	if found {
		ans, found = convKeyAnswer(it.Key())
	}
	if err := it.Close(); err != nil {
		return true, fmt.Errorf("reading the conversation: %w", err)
	}
	if found {
		*ar = store.Receipt{ID: ans, Duplicate: true}
		w.stats.duplicates++
		return true, nil
	}
	return false, nil
}

// List leases and returns visible messages; see store.Store.List.
func (p *Store) List(ctx context.Context, party string, limit int) ([]store.Entry, error) {
	if err := checkParty(party); err != nil {
		return nil, fmt.Errorf("listing mailbox: %w", err)
	}
	if err := store.CheckLimit(limit); err != nil {
		return nil, fmt.Errorf("listing mailbox: %w", err)
	}
	out := make([]store.Entry, 0, min(limit, 16))
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
		resumed := !skip.at.IsZero() && w.now.Before(skip.until) && less(h, skip.at)
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
			id  store.ID
			rec recordEntry
		}
		var deliver, quarantine []change
		var last store.ID // the last entry scanned
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
			w.p.state.skips[party] = skipRun{at: succ(last), until: until}
		}
		for _, c := range deliver {
			c.rec.Deliveries++
			c.rec.VisibleAt = w.now.Add(w.p.cfg.VisibilityTimeout)
			w.set(queueKey(party, c.id), c.rec.encode(false))
			w.event(c.id, store.StateListed, w.now, store.ID{})
			out = append(out, c.rec.entry(c.id, party))
		}
		for _, c := range quarantine {
			c.rec.VisibleAt = time.Time{}
			c.rec.Recipient = party
			w.del(queueKey(party, c.id))
			w.set(quarantineKey(c.id), c.rec.encode(true))
			w.event(c.id, store.StateQuarantined, w.now, store.ID{})
			w.change(store.Change{Op: store.OpQuarantine, ID: c.id, Soort: c.rec.Soort, Sender: c.rec.Sender, Recipient: party})
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

// Pending lists a mailbox without leasing; see store.Store.Pending. It reads a
// snapshot outside the committer, from the mailbox head, so the entries
// of confirmed messages below the head are not scanned.
func (p *Store) Pending(ctx context.Context, party string, limit int) ([]store.Entry, error) {
	if err := checkParty(party); err != nil {
		return nil, fmt.Errorf("listing pending messages: %w", err)
	}
	if err := store.CheckLimit(limit); err != nil {
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

// mailboxStart is the lower bound of a scan of party's mailbox in r: its
// persisted head, below which no entry of party sorts.
func mailboxStart(r reader, party string) ([]byte, error) {
	v, err := getFrom(r, headKey(party))
	if errors.Is(err, store.ErrNotFound) {
		return queuePrefix(party), nil
	} else if err != nil {
		return nil, fmt.Errorf("reading mailbox head: %w", err)
	}
	h, err := decodeID(v, "mailbox head")
	if err != nil {
		return nil, err
	}
	if h.IsZero() {
		return queuePrefix(party), nil
	}
	return queueKey(party, h), nil
}

func (p *Store) pending(ctx context.Context, party string, limit int) ([]store.Entry, error) {
	snap := p.db.NewSnapshot()
	defer snap.Close()
	lo, err := mailboxStart(snap, party)
	if err != nil {
		return nil, err
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
	out := make([]store.Entry, 0, min(limit, 16))
	scanned := 0
	for ok := it.First(); ok && len(out) < limit && scanned < maxScan; ok = it.Next() {
		if scanned++; scanned%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		id, ok := queueKeyID(it.Key())
		if !ok {
			return nil, fmt.Errorf("mailbox key: %w", store.ErrCorrupt)
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
			return nil, fmt.Errorf("mailbox entry %s without its record: %w", id, store.ErrCorrupt)
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

// Mailbox summarises a mailbox; see store.Store.Mailbox. Like Pending it reads a
// snapshot outside the committer, from the mailbox head; it reads the
// entries only, not the messages' records. An entry that List delivered
// MaxDeliveries times counts as pending until List quarantines it, as in
// Stats.
func (p *Store) Mailbox(ctx context.Context, party string) (store.MailboxSummary, error) {
	if err := checkParty(party); err != nil {
		return store.MailboxSummary{}, fmt.Errorf("summarising mailbox: %w", err)
	}
	if err := p.enter(); err != nil {
		return store.MailboxSummary{}, err
	}
	defer p.leave()
	sum, err := p.mailbox(ctx, party)
	if err != nil {
		return store.MailboxSummary{}, fmt.Errorf("summarising mailbox: %w", err)
	}
	return sum, nil
}

func (p *Store) mailbox(ctx context.Context, party string) (store.MailboxSummary, error) {
	var sum store.MailboxSummary
	snap := p.db.NewSnapshot()
	defer snap.Close()
	lo, err := mailboxStart(snap, party)
	if err != nil {
		return sum, err
	}
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: queueUpper(party)})
	if err != nil {
		return sum, fmt.Errorf("scanning mailbox: %w", err)
	}
	defer it.Close()
	now := p.cfg.Now()
	for ok := it.First(); ok; ok = it.Next() {
		if sum.Pending == store.MaxMailboxScan {
			sum.Partial = true
			break
		}
		if sum.Pending > 0 && sum.Pending%256 == 0 {
			if err := ctx.Err(); err != nil {
				return store.MailboxSummary{}, err
			}
		}
		id, ok := queueKeyID(it.Key())
		if !ok {
			return store.MailboxSummary{}, fmt.Errorf("mailbox key: %w", store.ErrCorrupt)
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return store.MailboxSummary{}, fmt.Errorf("reading mailbox entry: %w", err)
		}
		rec, err := decodeEntry(v, false)
		if err != nil {
			return store.MailboxSummary{}, err
		}
		if sum.Pending == 0 {
			sum.Oldest = id.Time() // the mailbox is in id order
		}
		sum.Pending++
		if rec.VisibleAt.After(now) {
			sum.Leased++
		}
	}
	if err := it.Error(); err != nil {
		return store.MailboxSummary{}, fmt.Errorf("scanning mailbox: %w", err)
	}
	return sum, nil
}

// Ack confirms a message; see store.Store.Ack.
func (p *Store) Ack(ctx context.Context, party string, id store.ID) error {
	if err := checkParty(party); err != nil {
		return fmt.Errorf("confirming message: %w", err)
	}
	if id.IsZero() {
		return fmt.Errorf("confirming message: zero id: %w", store.ErrInvalid)
	}
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error { return w.ack(party, id) })
	if err != nil {
		return fmt.Errorf("confirming message %s: %w", id, err)
	}
	return nil
}

// ack confirms message id in party's mailbox (or quarantine); confirming
// a confirmed message changes nothing. See Store.Ack.
func (w *writer) ack(party string, id store.ID) error {
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
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("reading mailbox entry: %w", err)
	default:
		v, err := w.get(quarantineKey(id))
		switch {
		case err == nil:
			if rec, err = decodeEntry(v, true); err != nil {
				return err
			}
			if rec.Recipient != party {
				return store.ErrNotFound
			}
			w.del(quarantineKey(id))
			w.delta.quarantined--
		case !errors.Is(err, store.ErrNotFound):
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
				return store.ErrNotFound
			}
			return nil
		}
	}
	w.confirmed(party, id, rec.Soort, rec.Sender)
	return nil
}

// Release returns a quarantined message to its mailbox; see store.Store.Release.
func (p *Store) Release(ctx context.Context, id store.ID) error {
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
		w.event(id, store.StateReleased, w.now, store.ID{})
		w.change(store.Change{Op: store.OpRelease, ID: id, Soort: rec.Soort, Sender: rec.Sender, Recipient: party})
		if less(id, h) {
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

// Get returns a message's bytes to its recipient; see store.Store.Get.
func (p *Store) Get(ctx context.Context, party string, id store.ID) ([]byte, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	rec, err := p.meta(id)
	if err != nil {
		return nil, fmt.Errorf("reading message %s: %w", id, err)
	}
	if rec.Recipient != party {
		return nil, fmt.Errorf("reading message %s: %w", id, store.ErrNotFound)
	}
	body, err := p.get(bodyKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("reading message %s: %w", id, store.ErrExpired)
	} else if err != nil {
		return nil, fmt.Errorf("reading message %s: %w", id, err)
	}
	if body, err = p.openBody(body, rec.SHA256); err != nil { // encryption at rest: see seal.go
		return nil, fmt.Errorf("reading message %s: %w", id, err)
	}
	return body, nil
}

func (p *Store) meta(id store.ID) (recordMeta, error) {
	v, err := p.get(metaKey(id))
	if err != nil {
		return recordMeta{}, err
	}
	return decodeMeta(v)
}

// Meta returns a message's metadata and history; see store.Store.Meta.
func (p *Store) Meta(ctx context.Context, id store.ID) (*store.Meta, error) {
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

// IDs returns up to limit ids of the messages the store holds, in id
// order, after id after (the zero ID: from the first). It enumerates the
// store for migration and inspection, which the contract has no other
// way to do.
func (p *Store) IDs(ctx context.Context, after store.ID, limit int) ([]store.ID, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	if limit <= 0 {
		return nil, fmt.Errorf("listing ids: limit %d: %w", limit, store.ErrInvalid)
	}
	lo := []byte{tagMeta}
	if !after.IsZero() {
		lo = metaKey(succ(after))
	}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: []byte{tagMeta + 1}})
	if err != nil {
		return nil, fmt.Errorf("listing ids: %w", err)
	}
	defer it.Close()
	var ids []store.ID
	for ok := it.First(); ok && len(ids) < limit; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("listing ids: %w", err)
		}
		if k := it.Key(); len(k) == 18 && k[17] == metaBase {
			ids = append(ids, store.ID(k[1:17]))
		}
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("listing ids: %w", err)
	}
	return ids, nil
}

func (p *Store) fullMeta(id store.ID) (*store.Meta, error) {
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
		return nil, store.ErrNotFound
	}
	if !bytes.Equal(it.Key(), metaKey(id)) {
		return nil, fmt.Errorf("history without record: %w", store.ErrCorrupt)
	}
	v, err := it.ValueAndErr()
	if err != nil {
		return nil, err
	}
	rec, err := decodeMeta(v)
	if err != nil {
		return nil, err
	}
	m := &store.Meta{ID: id, Soort: rec.Soort, Sender: rec.Sender, Recipient: rec.Recipient,
		Identificatie: rec.Identificatie, Received: rec.Received, Size: rec.Size,
		SHA256: rec.SHA256, Conversation: rec.Conversation, Correlation: rec.Correlation}
	m.History = append(m.History, store.Event{State: store.StateReceived, At: rec.Received})
	if !rec.Validated.IsZero() {
		m.History = append(m.History, store.Event{State: store.StateValidated, At: rec.Validated})
	}
	m.History = append(m.History, store.Event{State: store.StateStored, At: rec.Stored})
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

// Lookup finds a message by dedup key; see store.Store.Lookup.
func (p *Store) Lookup(ctx context.Context, key store.Key) (*store.Meta, error) {
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
func (p *Store) Conversation(ctx context.Context, id store.ID) ([]*store.Meta, error) {
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
	out := []*store.Meta{root}
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
		if errors.Is(err, store.ErrNotFound) {
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

// Quarantined lists quarantined messages; see store.Store.Quarantined.
func (p *Store) Quarantined(ctx context.Context, after store.ID, limit int) ([]store.Entry, error) {
	if err := store.CheckLimit(limit); err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	lo := []byte{tagQuarantine}
	if !after.IsZero() {
		lo = quarantineKey(succ(after))
	}
	it, err := p.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: []byte{tagQuarantine + 1}})
	if err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}
	defer it.Close()
	var out []store.Entry
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
