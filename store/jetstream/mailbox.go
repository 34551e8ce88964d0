package jetstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// maxScan bounds the mailbox entries one List reads.
const maxScan = 10000

// Put stores msg; see store.Store.Put. The dedup key, a correlation's
// traceerId and conversatieId, and the ledger entries of its
// aanleveringen are claimed with compare-and-set in the same atomic batch
// as the message, so of concurrent Puts of one key, of one traceerId, or
// delivering one aanlevering, on any nodes exactly one stores it; the
// others re-read and find it taken. The first attempt of a message
// without correlation or aanleveringen writes without reading the dedup
// key, which is new as a rule: a resend's claim fails, which costs its
// batch a second commit (settleRace), and the next attempt reads the key.
// The others read it first: a resend must not be refused by the ledger or
// the correlation index, which it finds taken by its original. So does a
// sender that resent within resendMemory: its resends come in runs, which
// should not cost others' batches a second commit each.
func (s *Store) Put(ctx context.Context, msg *store.Message) (store.Receipt, error) {
	if err := checkMessage(msg); err != nil {
		return store.Receipt{}, fmt.Errorf("storing message: %w", err)
	}
	if err := store.CheckAanleveringen(msg.Aanleveringen); err != nil {
		return store.Receipt{}, fmt.Errorf("storing message: %w", err)
	}
	if err := s.enter(); err != nil {
		return store.Receipt{}, err
	}
	s.leave()
	p := s.prepare(msg)
	var receipt store.Receipt
	var read readFunc // none at first; then a replica, and the leader if absent there
	if p.corr != nil || len(msg.Aanleveringen) > 0 || s.resentLately(msg.Sender) {
		read = s.last
	}
	cread, lread, lleader := s.last, s.last, false
	err := s.retry(ctx, func() error {
		var (
			d     dedupRec
			found bool
			err   error
		)
		if read != nil {
			if d, _, found, err = s.dedupEntry(ctx, p, read); err != nil {
				return err
			}
		}
		read = s.lastFresh
		if found {
			if err := s.indexResend(ctx, d.ID, p.corr, cread); err != nil {
				cread = s.lastLeader
				return err
			}
			if msg.Reception != nil && s.cfg.Node != "" {
				if err := s.submit(ctx, func(b *builder) { b.reception(d.ID, msg.Reception, true) }); err != nil {
					return err
				}
			}
			s.stats.duplicates.Add(1)
			s.resends.Store(msg.Sender, s.cfg.Now().UnixNano())
			receipt = store.Receipt{ID: d.ID, Duplicate: true}
			return nil
		}
		var plan corrPlan
		if p.corr != nil {
			plan, err = s.planCorrelation(ctx, p.corr, store.ID{}, true, cread)
			cread = s.lastLeader // after a lost race, the leader knows the winner
			if err != nil {
				return err
			}
		}
		var conv store.ID
		if !msg.Answers.IsZero() {
			heen, _, err := s.meta(ctx, msg.Answers)
			if err != nil {
				return fmt.Errorf("heenbericht %s: %w", msg.Answers, err)
			}
			conv = heen.Conversation
		}
		p.ledger = nil
		if len(msg.Aanleveringen) > 0 {
			p.ledger, err = s.planLedger(ctx, msg.Aanleveringen, lread, lleader)
			lread, lleader = s.lastLeader, true // after a lost race, the leader knows the winner
			if err != nil {
				return err
			}
		}
		err = s.submit(ctx, func(b *builder) {
			id := b.newID()
			c := conv
			if c.IsZero() {
				c = id
			}
			b.message(p, id, c, msg.Answers, plan, true)
			receipt = store.Receipt{ID: id}
		})
		if err == nil {
			s.own.add(receipt.ID)
			s.stats.puts.Add(1)
			s.stats.pending.Add(1)
		}
		return err
	})
	if err != nil {
		s.countConflict(err)
		return store.Receipt{}, fmt.Errorf("storing message: %w", err)
	}
	return receipt, nil
}

// resendMemory is how long a sender's Puts read their dedup keys first
// after it resent a message.
const resendMemory = time.Minute

// resentLately reports whether sender resent a message within
// resendMemory.
func (s *Store) resentLately(sender string) bool {
	at, ok := s.resends.Load(sender)
	return ok && s.cfg.Now().UnixNano()-at.(int64) < int64(resendMemory)
}

// countConflict counts err if it refuses a key taken by other bytes.
func (s *Store) countConflict(err error) {
	var de *store.DuplicateError
	if errors.As(err, &de) {
		s.stats.conflicts.Add(1)
	}
}

// checkMessage checks the fields of a message to store.
func checkMessage(msg *store.Message) error {
	if msg == nil {
		return fmt.Errorf("nil: %w", store.ErrInvalid)
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
			return err
		}
	}
	if len(msg.Body) == 0 {
		return fmt.Errorf("empty body: %w", store.ErrInvalid)
	}
	if c := msg.Correlation; c != nil {
		if err := c.Check(); err != nil {
			return err
		}
	}
	if r := msg.Reception; r != nil && len(r.Principal)+len(r.Remote) > store.MaxReceptionLen {
		return fmt.Errorf("reception of %d bytes, over %d: %w", len(r.Principal)+len(r.Remote), store.MaxReceptionLen, store.ErrInvalid)
	}
	return nil
}

// prepared is a checked message with what writing it takes, made before
// its reads and the committer: its digest, its bytes as published and
// its dedup subject.
type prepared struct {
	msg   *store.Message
	corr  *store.Correlation
	sum   [32]byte
	body  []byte // sealed with a keyring, else a copy
	dsubj string
	// ledger is what Put writes to the aanleveringen ledger, planned in
	// each attempt; nil for PutAnswered, whose messages the ledger does
	// not see.
	ledger ledgerPlan
}

func (s *Store) prepare(msg *store.Message) *prepared {
	p := &prepared{msg: msg, corr: msg.Correlation, sum: sha256.Sum256(msg.Body), dsubj: s.sub.dedup(msg.Key())}
	if s.cfg.Keys != nil {
		p.body = s.cfg.Keys.Seal(msg.Body, p.sum[:])
	} else {
		p.body = bytes.Clone(msg.Body)
	}
	return p
}

// dedupEntry reads p's dedup key with read: the message stored under it,
// and the subject's sequence. A message stored under it with other bytes
// is a *store.DuplicateError (counted by the caller, once final: see
// countConflict).
func (s *Store) dedupEntry(ctx context.Context, p *prepared, read readFunc) (dedupRec, uint64, bool, error) {
	var rec dedupRec
	d, found, err := read(ctx, p.dsubj)
	if err != nil || !found {
		return rec, 0, false, err
	}
	if err := decode(d.data, &rec, "dedup entry"); err != nil {
		return rec, 0, false, err
	}
	if !bytes.Equal(rec.SHA256, p.sum[:]) {
		return rec, 0, false, &store.DuplicateError{Key: p.msg.Key(), Original: rec.ID}
	}
	return rec, d.seq, true, nil
}

// message adds p to b as the new message id of conversation conv: its
// record, bytes, dedup key (claimed with compare-and-set: absent before),
// the correlation indexes plan names and the ledger entries p.ledger
// plans; with queue its mailbox entry.
// An answer (answers not zero) is linked to its conversation and recorded
// in the history of the message it answers.
func (b *builder) message(p *prepared, id, conv, answers store.ID, plan corrPlan, queue bool) {
	msg := p.msg
	rec := metaRec{
		Soort: msg.Soort, Sender: msg.Sender, Recipient: msg.Recipient,
		Identificatie: msg.Identificatie, Received: unixNano(msg.Received),
		Validated: unixNano(msg.Validated), Stored: b.now.UnixNano(),
		Size: int64(len(msg.Body)), SHA256: p.sum[:], Conversation: conv,
		Chunks:  (len(p.body) + chunkSize - 1) / chunkSize,
		Answers: answers, Correlation: correlationRecOf(p.corr), Ledger: p.ledger.keys(),
	}
	if rec.Received == 0 {
		rec.Received = rec.Stored
	}
	b.create(b.s.sub.meta(id), encode(rec))
	for i := 0; i < rec.Chunks; i++ {
		b.create(b.s.sub.body(id, i), p.body[i*chunkSize:min(len(p.body), (i+1)*chunkSize)])
	}
	if queue {
		e := entryRec{Received: rec.Received, Size: rec.Size, Soort: rec.Soort, Sender: rec.Sender,
			SHA256: rec.SHA256, Conversation: conv, Correlation: rec.Correlation}
		b.create(b.s.sub.entry(msg.Recipient, id), encode(e))
	}
	if !answers.IsZero() {
		b.add(b.s.sub.conv(conv), []byte(id.String()))
		b.event(answers, store.StateRetourReceived, id)
	}
	b.set(p.dsubj, encode(dedupRec{ID: id, SHA256: p.sum[:]}), 0)
	if p.corr != nil {
		plan.write(b, p.corr, id)
	}
	p.ledger.write(b, id)
	b.reception(id, msg.Reception, false)
}

// confirmed records message id as confirmed: in its history, with the
// listings of the mailbox entry the confirmation removes, and in the
// confirmation log that retention walks.
func (b *builder) confirmed(id store.ID, listed []int64) {
	b.ending(id, store.StateConfirmed, listed)
	b.add(b.s.sub.confirmations(), encode(confirmRec{ID: id, At: b.now.UnixNano()}))
}

// indexResend adds the traceerId of an identical resend of message id to
// the index, with compare-and-set, unless it names id already; the
// message keeps its first correlation. A traceerId naming another message
// is store.ErrTraceerTaken.
func (s *Store) indexResend(ctx context.Context, id store.ID, c *store.Correlation, read func(context.Context, string) (stored, bool, error)) error {
	if c == nil {
		return nil
	}
	plan, err := s.planCorrelation(ctx, c, id, false, read)
	if err != nil || !plan.traceer {
		return err
	}
	return s.submit(ctx, func(b *builder) {
		plan.write(b, c, id)
		b.add(s.sub.corrAliases(id), []byte(hex.EncodeToString(c.Traceer[:])))
	})
}

// mailboxEntries returns the live entries of party's mailbox that keep
// takes, in arrival order, up to limit of those it counts: from the
// mailbox index when it can answer (oldest first, however deep the
// mailbox), else from a scan of up to maxScan entries in stream order.
func (s *Store) mailboxEntries(ctx context.Context, party string, limit int, keep func(*entryRec) (take, count bool)) ([]mailboxEntry, error) {
	if es, ok, err := s.indexedEntries(ctx, party, limit, keep); ok {
		return es, err
	}
	return s.scanEntries(ctx, party, limit, keep)
}

// scanEntries is mailboxEntries from a scan of the stream.
func (s *Store) scanEntries(ctx context.Context, party string, limit int, keep func(*entryRec) (take, count bool)) ([]mailboxEntry, error) {
	var all []mailboxEntry
	err := s.scan(ctx, s.sub.mailbox(party), 0, func(m stored) (bool, error) {
		if len(m.data) == 0 {
			return true, nil // tombstone
		}
		id, err := idFromSubject(m.subject)
		if err != nil {
			return false, fmt.Errorf("mailbox entry: %w", store.ErrCorrupt)
		}
		e := mailboxEntry{id: id, seq: m.seq}
		if err := decode(m.data, &e.rec, "mailbox entry"); err != nil {
			return false, err
		}
		all = append(all, e)
		return len(all) < maxScan, nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b mailboxEntry) int { return bytes.Compare(a.id[:], b.id[:]) })
	out, n := all[:0], 0
	for _, e := range all {
		take, count := keep(&e.rec)
		if !take {
			continue
		}
		out = append(out, e)
		if count {
			if n++; n == limit {
				break
			}
		}
	}
	return out, nil
}

// mailboxEntry is an entry read from a mailbox with its sequence.
type mailboxEntry struct {
	id  store.ID
	seq uint64
	rec entryRec
}

var partySeed = maphash.MakeSeed()

func (s *Store) lockParty(party string) func() {
	mu := &s.partyLocks[maphash.String(partySeed, party)%uint64(len(s.partyLocks))]
	mu.Lock()
	return mu.Unlock
}

// List leases and returns visible messages; see store.Store.List. Each
// lease is a compare-and-set on the entry, so pollers on different nodes
// never receive the same message within a lease; the entry keeps the
// listing's time for the message's history (entryRec.Listed). The
// entries a List chose are claimed in the mailbox index while their
// leases are committed, so this node's concurrent listings of one mailbox
// take others and share the committer's batches rather than queue for it.
// The bytes of the messages leased are read meanwhile, with one request,
// for the Gets that follow (readAhead).
func (s *Store) List(ctx context.Context, party string, limit int) ([]store.Entry, error) {
	if err := store.CheckField("party", party, store.MaxPartyLen); err != nil {
		return nil, fmt.Errorf("listing mailbox: %w", err)
	}
	if err := store.CheckLimit(limit); err != nil {
		return nil, fmt.Errorf("listing mailbox: %w", err)
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	s.leave()
	var out []store.Entry
	err := s.retry(ctx, func() error {
		out = out[:0]
		now := s.cfg.Now().UTC()
		until := now.Add(s.cfg.VisibilityTimeout).UnixNano()
		keep := func(r *entryRec) (take, count bool) {
			return r.VisibleAt <= now.UnixNano(), r.Deliveries < s.cfg.MaxDeliveries // due for quarantine: taken, not counted
		}
		all, claim, ok, err := s.claimIndexed(ctx, party, limit, keep)
		if !ok {
			defer s.lockParty(party)()
			all, err = s.scanEntries(ctx, party, limit, keep)
		}
		if err != nil {
			return err
		}
		var deliver, quarantine []mailboxEntry // deliver with their leased records
		for _, e := range all {
			switch {
			case e.rec.Deliveries >= s.cfg.MaxDeliveries:
				quarantine = append(quarantine, e)
			default:
				e.rec.Deliveries++
				e.rec.VisibleAt = until
				// Clipped: the index's copy of the entry shares the array.
				e.rec.Listed = append(slices.Clip(e.rec.Listed), now.UnixNano())
				deliver = append(deliver, e)
			}
		}
		if len(deliver)+len(quarantine) == 0 {
			return nil
		}
		read := make(chan []*ahead, 1) // the bytes of deliver, read meanwhile
		go func() { read <- s.readAheadOf(ctx, party, deliver, until) }()
		at := make([]uint64, len(deliver)) // the position of each lease in the op
		first, err := s.submitSeq(ctx, func(b *builder) {
			for i, e := range deliver {
				at[i] = b.next()
				b.set(s.sub.entry(party, e.id), encode(e.rec), int64(e.seq))
			}
			for _, e := range quarantine {
				b.quarantine(party, e.id, e.rec, e.seq)
			}
		})
		if claim != 0 {
			if err != nil {
				first = 0
			}
			s.settleClaim(party, claim, deliver, at, quarantine, first)
		}
		readBytes := <-read
		if err != nil {
			return err
		}
		s.ahead.add(now.UnixNano(), readBytes)
		for _, e := range deliver {
			out = append(out, e.rec.entry(e.id, party))
		}
		s.stats.deliveries.Add(int64(len(deliver)))
		s.stats.pending.Add(-int64(len(quarantine)))
		s.stats.quarantined.Add(int64(len(quarantine)))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing mailbox: %w", err)
	}
	return out, nil
}

// Pending lists a mailbox without leasing; see store.Store.Pending. It
// only reads, from any replica: in a cluster the listing may lag the
// latest write by milliseconds, so a message confirmed a moment ago can
// be listed once more (confirming it again succeeds).
func (s *Store) Pending(ctx context.Context, party string, limit int) ([]store.Entry, error) {
	if err := store.CheckField("party", party, store.MaxPartyLen); err != nil {
		return nil, fmt.Errorf("listing pending messages: %w", err)
	}
	if err := store.CheckLimit(limit); err != nil {
		return nil, fmt.Errorf("listing pending messages: %w", err)
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	now := s.cfg.Now().UnixNano()
	all, err := s.mailboxEntries(ctx, party, limit, func(r *entryRec) (take, count bool) {
		ok := r.VisibleAt <= now && r.Deliveries < s.cfg.MaxDeliveries // not leased, nor due for quarantine
		return ok, ok
	})
	if err != nil {
		return nil, fmt.Errorf("listing pending messages: %w", err)
	}
	out := make([]store.Entry, 0, len(all))
	for _, e := range all {
		if e.rec.SHA256 == nil { // written before entries copied the record
			rec, _, err := s.meta(ctx, e.id)
			if err != nil {
				return nil, fmt.Errorf("listing pending messages: %s: %w", e.id, err)
			}
			e.rec.SHA256, e.rec.Conversation, e.rec.Correlation = rec.SHA256, rec.Conversation, rec.Correlation
		}
		out = append(out, e.rec.pendingEntry(e.id, party))
	}
	return out, nil
}

// Mailbox summarises a mailbox; see store.Store.Mailbox. Like Pending it
// only reads, from any replica, so in a cluster it may lag the latest
// write by milliseconds. It counts the entries as it reads them, in
// stream order, up to store.MaxMailboxScan: when it stops there, Oldest
// is the oldest of the entries read. An entry that List delivered
// MaxDeliveries times counts as pending until List quarantines it, as in
// Stats.
func (s *Store) Mailbox(ctx context.Context, party string) (store.MailboxSummary, error) {
	if err := store.CheckField("party", party, store.MaxPartyLen); err != nil {
		return store.MailboxSummary{}, fmt.Errorf("summarising mailbox: %w", err)
	}
	if err := s.enter(); err != nil {
		return store.MailboxSummary{}, err
	}
	defer s.leave()
	if sum, ok, err := s.indexedSummary(ctx, party); ok || err != nil {
		if err != nil {
			return store.MailboxSummary{}, fmt.Errorf("summarising mailbox: %w", err)
		}
		return sum, nil
	}
	var sum store.MailboxSummary
	var oldest store.ID
	now := s.cfg.Now().UnixNano()
	err := s.scan(ctx, s.sub.mailbox(party), 0, func(m stored) (bool, error) {
		if len(m.data) == 0 {
			return true, nil // tombstone
		}
		if sum.Pending == store.MaxMailboxScan {
			sum.Partial = true
			return false, nil
		}
		id, err := idFromSubject(m.subject)
		if err != nil {
			return false, fmt.Errorf("mailbox entry: %w", store.ErrCorrupt)
		}
		var rec entryRec
		if err := decode(m.data, &rec, "mailbox entry"); err != nil {
			return false, err
		}
		if sum.Pending == 0 || bytes.Compare(id[:], oldest[:]) < 0 {
			oldest = id
		}
		sum.Pending++
		if rec.VisibleAt > now {
			sum.Leased++
		}
		return true, nil
	})
	if err != nil {
		return store.MailboxSummary{}, fmt.Errorf("summarising mailbox: %w", err)
	}
	if sum.Pending > 0 {
		sum.Oldest = oldest.Time()
	}
	return sum, nil
}

// Ack confirms a message; see store.Store.Ack. The mailbox entry is
// cleared with compare-and-set and the confirmation logged for retention
// in one batch; confirming again finds no entry and succeeds. The entry's
// sequence comes from the mailbox index when it has the entry (this
// node's List leased it a moment ago, as a rule), else, or when the
// stream has moved on, from reading the entry.
func (s *Store) Ack(ctx context.Context, party string, id store.ID) error {
	if err := store.CheckField("party", party, store.MaxPartyLen); err != nil {
		return fmt.Errorf("confirming message: %w", err)
	}
	if id.IsZero() {
		return fmt.Errorf("confirming message: zero id: %w", store.ErrInvalid)
	}
	if err := s.enter(); err != nil {
		return err
	}
	s.leave()
	indexed := true
	err := s.retry(ctx, func() error {
		confirm := func(subject string, seq uint64, listed []int64) error {
			return s.submit(ctx, func(b *builder) {
				b.clear(subject, int64(seq))
				b.confirmed(id, listed)
			})
		}
		if seq, listed := s.indexedSeq(party, id); indexed && seq != 0 {
			err := confirm(s.sub.entry(party, id), seq, listed)
			if err == nil {
				s.forget(party, id, seq)
				s.stats.pending.Add(-1)
				s.stats.acks.Add(1)
				return nil
			}
			if !errors.Is(err, errConflict) {
				return err
			}
			// The stream holds a newer value (a lease, a confirmation):
			// read it, now and in any later attempt.
			indexed = false
		}
		e, found, err := s.lastFresh(ctx, s.sub.entry(party, id))
		if err != nil {
			return err
		}
		if found && len(e.data) > 0 {
			var r entryRec
			if err := decode(e.data, &r, "mailbox entry"); err != nil {
				return err
			}
			if err := confirm(e.subject, e.seq, r.Listed); err != nil {
				return err
			}
			s.stats.pending.Add(-1)
			s.stats.acks.Add(1)
			return nil
		}
		x, found, err := s.lastFresh(ctx, s.sub.quarantine(id))
		if err != nil {
			return err
		}
		if found && len(x.data) > 0 {
			var r entryRec
			if err := decode(x.data, &r, "quarantine entry"); err != nil {
				return err
			}
			if r.Recipient != party {
				return store.ErrNotFound
			}
			if err := confirm(x.subject, x.seq, r.Listed); err != nil {
				return err
			}
			s.stats.quarantined.Add(-1)
			s.stats.acks.Add(1)
			return nil
		}
		// Not pending: confirmed before (idempotent) or unknown.
		rec, _, err := s.meta(ctx, id)
		if err != nil {
			return err
		}
		if rec.Recipient != party {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("confirming message %s: %w", id, err)
	}
	s.ahead.drop(id)
	return nil
}

// Release returns a quarantined message to its mailbox; see
// store.Store.Release.
func (s *Store) Release(ctx context.Context, id store.ID) error {
	if err := s.enter(); err != nil {
		return err
	}
	s.leave()
	err := s.retry(ctx, func() error {
		x, found, err := s.lastFresh(ctx, s.sub.quarantine(id))
		if err != nil {
			return err
		}
		if !found || len(x.data) == 0 {
			return store.ErrNotFound
		}
		var r entryRec
		if err := decode(x.data, &r, "quarantine entry"); err != nil {
			return err
		}
		party := r.Recipient
		r.Deliveries, r.VisibleAt, r.Recipient, r.Listed = 0, 0, "", nil
		err = s.submit(ctx, func(b *builder) {
			b.clear(x.subject, int64(x.seq))
			b.set(s.sub.entry(party, id), encode(r), -1)
			b.event(id, store.StateReleased, store.ID{})
		})
		if err == nil {
			s.stats.quarantined.Add(-1)
			s.stats.pending.Add(1)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("releasing message %s: %w", id, err)
	}
	return nil
}

// meta reads the base record of id, and its sequence.
func (s *Store) meta(ctx context.Context, id store.ID) (metaRec, uint64, error) {
	var rec metaRec
	m, found, err := s.lastWritten(ctx, s.sub.meta(id))
	if err != nil {
		return rec, 0, err
	}
	if !found {
		return rec, 0, store.ErrNotFound
	}
	rec, err = decodeMeta(m.data)
	return rec, m.seq, err
}

// Get returns a message's bytes to its recipient; see store.Store.Get.
// The bytes of a message this node's List just leased to party are read
// already (readAhead). A message in party's mailbox in this node's index,
// small enough for one chunk, is one direct get of its bytes. Either is
// checked against the size and digest its entry copies from its record.
// Otherwise Get asks for the record and the first chunk in one request,
// and for what that answer lacks (a replica behind, more chunks) one by
// one.
func (s *Store) Get(ctx context.Context, party string, id store.ID) ([]byte, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	if a, ok := s.ahead.take(party, id, s.cfg.Now().UnixNano()); ok {
		body, err := s.open(a.data, a.size, a.sum)
		if err != nil {
			return nil, fmt.Errorf("reading message %s: %w", id, err)
		}
		return body, nil
	}
	if e, ok := s.indexedEntry(party, id); ok && e.SHA256 != nil && e.Size+sealOverhead <= chunkSize {
		m, found, err := s.last(ctx, s.sub.body(id, 0))
		if err != nil {
			return nil, fmt.Errorf("reading message %s: %w", id, err)
		}
		if found { // else a replica behind, or bytes retention removed
			body, err := s.open(m.data, e.Size, e.SHA256)
			if err != nil {
				return nil, fmt.Errorf("reading message %s: %w", id, err)
			}
			return body, nil
		}
	}
	got, err := s.lastOf(ctx, []string{s.sub.meta(id), s.sub.body(id, 0)})
	if err != nil {
		return nil, fmt.Errorf("reading message %s: %w", id, err)
	}
	var rec metaRec
	if m, ok := got[s.sub.meta(id)]; ok {
		rec, err = decodeMeta(m.data)
	} else {
		rec, _, err = s.meta(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("reading message %s: %w", id, err)
	}
	if rec.Recipient != party {
		return nil, fmt.Errorf("reading message %s: %w", id, store.ErrNotFound)
	}
	body, err := s.readBody(ctx, id, rec, got)
	if err != nil {
		return nil, fmt.Errorf("reading message %s: %w", id, err)
	}
	return body, nil
}

// sealOverhead is room for the seal's envelope (magic, key id, nonce, tag).
const sealOverhead = 128

// readBody reads the chunks of message id, whose record is rec, and turns
// them back into the message: opened when sealed (store.Keyring.Open),
// then checked against the record's size and digest. Chunks in got (read
// already, by subject) are not read again. Bytes that retention removed
// (or an import never carried) are store.ErrExpired.
func (s *Store) readBody(ctx context.Context, id store.ID, rec metaRec, got map[string]stored) ([]byte, error) {
	if rec.Chunks == 0 {
		return nil, store.ErrExpired
	}
	v := make([]byte, 0, min(rec.Size+sealOverhead, 32<<20))
	for i := range rec.Chunks {
		m, found := got[s.sub.body(id, i)]
		if !found {
			var err error
			if m, found, err = s.lastWritten(ctx, s.sub.body(id, i)); err != nil {
				return nil, err
			}
		}
		if !found {
			return nil, store.ErrExpired
		}
		v = append(v, m.data...)
	}
	return s.open(v, rec.Size, rec.SHA256)
}

// open turns the bytes stored of a message back into the message: opened
// when sealed (store.Keyring.Open), then checked against the size and
// digest of its record.
func (s *Store) open(v []byte, size int64, sum []byte) ([]byte, error) {
	body, err := s.cfg.Keys.Open(v, sum)
	if err != nil {
		return nil, err
	}
	if int64(len(body)) != size || len(sum) != sha256.Size || sha256.Sum256(body) != [32]byte(sum) {
		return nil, fmt.Errorf("bytes do not match their record: %w", store.ErrCorrupt)
	}
	return body, nil
}

// fullMeta reads a message's record and history. Its listings are in its
// mailbox entry while it is pending, and in the event that removed the
// entry after (entryRec.Listed). The entry is read before the events, so
// that a confirmation in between shows the listings twice, which are
// merged, rather than not at all.
func (s *Store) fullMeta(ctx context.Context, id store.ID) (*store.Meta, error) {
	rec, seq, err := s.meta(ctx, id)
	if err != nil {
		return nil, err
	}
	var pending entryRec
	if e, found, err := s.last(ctx, s.sub.entry(rec.Recipient, id)); err != nil {
		return nil, err
	} else if found && len(e.data) > 0 {
		if err := decode(e.data, &pending, "mailbox entry"); err != nil {
			return nil, err
		}
	}
	m := &store.Meta{ID: id, Soort: rec.Soort, Sender: rec.Sender, Recipient: rec.Recipient,
		Identificatie: rec.Identificatie, Received: unixTime(rec.Received), Size: rec.Size,
		SHA256: [32]byte(rec.SHA256), Conversation: rec.Conversation, Correlation: rec.Correlation.correlation()}
	m.History = append(m.History, store.Event{State: store.StateReceived, At: m.Received})
	if rec.Validated != 0 {
		m.History = append(m.History, store.Event{State: store.StateValidated, At: unixTime(rec.Validated)})
	}
	m.History = append(m.History, store.Event{State: store.StateStored, At: unixTime(rec.Stored)})
	var events []store.Event
	seen := map[int64]bool{}
	listings := func(listed []int64) {
		for _, at := range listed {
			if !seen[at] {
				seen[at] = true
				events = append(events, store.Event{State: store.StateListed, At: unixTime(at)})
			}
		}
	}
	err = s.scan(ctx, s.sub.events(id), seq, func(sm stored) (bool, error) {
		var e eventRec
		if err := decode(sm.data, &e, "history event"); err != nil {
			return false, err
		}
		if e.State < store.StateReceived || e.State > store.StateExpired {
			return false, fmt.Errorf("history event: state %d: %w", e.State, store.ErrCorrupt)
		}
		listings(e.Listed)
		ev := store.Event{State: e.State, At: unixTime(e.At)}
		if e.Ref != nil {
			ev.Ref = *e.Ref
		}
		events = append(events, ev)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	listings(pending.Listed)
	// In time order: an answer's event may fall between a listing and
	// the confirmation that carries it.
	slices.SortStableFunc(events, func(a, b store.Event) int { return a.At.Compare(b.At) })
	m.History = append(m.History, events...)
	m.State = m.History[len(m.History)-1].State
	return m, nil
}

// Meta returns a message's metadata and history; see store.Store.Meta.
// In a cluster the history is read from any replica and may lag the
// latest write by milliseconds.
func (s *Store) Meta(ctx context.Context, id store.ID) (*store.Meta, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	m, err := s.fullMeta(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading metadata of %s: %w", id, err)
	}
	return m, nil
}

// Lookup finds a message by dedup key; see store.Store.Lookup.
func (s *Store) Lookup(ctx context.Context, key store.Key) (*store.Meta, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	d, found, err := s.lastFresh(ctx, s.sub.dedup(key))
	if err != nil {
		return nil, fmt.Errorf("looking up message: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("looking up message: %w", store.ErrNotFound)
	}
	var rec dedupRec
	if err := decode(d.data, &rec, "dedup entry"); err != nil {
		return nil, fmt.Errorf("looking up message: %w", err)
	}
	m, err := s.fullMeta(ctx, rec.ID)
	if err != nil {
		return nil, fmt.Errorf("looking up message %s: %w", rec.ID, err)
	}
	return m, nil
}

// Conversation returns a heenbericht and its answers; see
// store.Store.Conversation.
func (s *Store) Conversation(ctx context.Context, id store.ID) ([]*store.Meta, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	m, err := s.fullMeta(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("reading conversation of %s: %w", id, err)
	}
	root := m
	if m.Conversation != id {
		if root, err = s.fullMeta(ctx, m.Conversation); err != nil {
			return nil, fmt.Errorf("reading conversation of %s: heenbericht %s: %w", id, m.Conversation, err)
		}
	}
	var answers []store.ID
	err = s.scan(ctx, s.sub.conv(root.ID), 0, func(sm stored) (bool, error) {
		a, err := store.ParseID(string(sm.data))
		if err != nil {
			return false, fmt.Errorf("conversation entry: %w", store.ErrCorrupt)
		}
		answers = append(answers, a)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading conversation of %s: %w", id, err)
	}
	out := []*store.Meta{root}
	for _, a := range answers {
		am, err := s.fullMeta(ctx, a)
		if errors.Is(err, store.ErrNotFound) {
			continue // purged by retention
		} else if err != nil {
			return nil, fmt.Errorf("reading conversation of %s: %w", id, err)
		}
		out = append(out, am)
	}
	return out, nil
}

// Quarantined lists quarantined messages; see store.Store.Quarantined.
func (s *Store) Quarantined(ctx context.Context, after store.ID, limit int) ([]store.Entry, error) {
	if err := store.CheckLimit(limit); err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	var all []store.Entry
	err := s.scan(ctx, s.sub.allQuarantine(), 0, func(m stored) (bool, error) {
		if len(m.data) == 0 {
			return true, nil
		}
		id, err := idFromSubject(m.subject)
		if err != nil {
			return false, fmt.Errorf("quarantine entry: %w", store.ErrCorrupt)
		}
		if bytes.Compare(id[:], after[:]) <= 0 {
			return true, nil
		}
		var r entryRec
		if err := decode(m.data, &r, "quarantine entry"); err != nil {
			return false, err
		}
		all = append(all, r.entry(id, r.Recipient))
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing quarantine: %w", err)
	}
	slices.SortFunc(all, func(a, b store.Entry) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	if len(all) > limit {
		all = all[:limit]
	}
	return all, nil
}
