package jetstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/knooppunt/knooppunt/store"
)

// Record is one message with everything the store knows of it, as
// `knooppunt store migrate` reads it from another store.
type Record struct {
	// Meta is the message's metadata and history; its ID is kept.
	Meta *store.Meta
	// Body is the message exactly as received; nil if retention removed it.
	Body []byte
	// Quarantined is set for a message in quarantine.
	Quarantined bool
	// Confirmed is when the recipient confirmed it; zero if pending.
	Confirmed time.Time
	// Deliveries counts Lists since its last release, for a pending or
	// quarantined message.
	Deliveries int
}

// Import writes rec under its own id, with its history, mailbox or
// quarantine entry, dedup key, conversation link, correlation indexes
// and, if it was confirmed, its place in retention. It is idempotent: if
// the dedup key is taken by the same id, nothing is written and imported
// is false; taken by another id, it fails with a *store.DuplicateError,
// and a traceerId naming another message with store.ErrTraceerTaken. A
// pending message becomes visible at once (leases are not carried over).
func (s *Store) Import(ctx context.Context, rec *Record) (imported bool, err error) {
	m := rec.Meta
	if m == nil || m.ID.IsZero() || len(m.History) == 0 {
		return false, fmt.Errorf("importing message: no id or history: %w", store.ErrInvalid)
	}
	if rec.Body != nil && (int64(len(rec.Body)) != m.Size || sha256.Sum256(rec.Body) != m.SHA256) {
		return false, fmt.Errorf("importing message %s: bytes do not match size and sha256: %w", m.ID, store.ErrCorrupt)
	}
	if m.Correlation != nil {
		if err := m.Correlation.Check(); err != nil {
			return false, fmt.Errorf("importing message %s: %w", m.ID, err)
		}
	}
	if err := s.enter(); err != nil {
		return false, err
	}
	s.leave()
	key := store.Key{Sender: m.Sender, Soort: m.Soort, Identificatie: m.Identificatie}
	dsubj := s.sub.dedup(key)
	cread := s.lastFresh
	err = s.retry(ctx, func() error {
		d, found, err := s.lastFresh(ctx, dsubj)
		if err != nil {
			return err
		}
		if found {
			var dr dedupRec
			if err := decode(d.data, &dr, "dedup entry"); err != nil {
				return err
			}
			if dr.ID != m.ID {
				return &store.DuplicateError{Key: key, Original: dr.ID}
			}
			imported = false
			return nil
		}
		var plan corrPlan
		if m.Correlation != nil {
			plan, err = s.planCorrelation(ctx, m.Correlation, m.ID, true, cread)
			cread = s.lastLeader
			if err != nil {
				return err
			}
		}
		err = s.submit(ctx, func(b *builder) {
			if bytes.Compare(m.ID[:], s.ids.last[:]) > 0 {
				s.ids.last = m.ID
			}
			mr := metaRec{Soort: m.Soort, Sender: m.Sender, Recipient: m.Recipient,
				Identificatie: m.Identificatie, Received: unixNano(m.Received),
				Size: m.Size, SHA256: m.SHA256[:], Conversation: m.Conversation,
				Correlation: correlationRecOf(m.Correlation)}
			if mr.Conversation.IsZero() {
				mr.Conversation = m.ID
			}
			var later []store.Event
			for _, ev := range m.History {
				switch {
				case ev.State == store.StateValidated && mr.Validated == 0:
					mr.Validated = unixNano(ev.At)
				case ev.State == store.StateStored && mr.Stored == 0:
					mr.Stored = unixNano(ev.At)
				case ev.State == store.StateReceived && mr.Stored == 0:
				default:
					later = append(later, ev)
				}
			}
			if mr.Stored == 0 {
				mr.Stored = mr.Received
			}
			body := rec.Body // what is published: sealed with a keyring
			if body != nil && s.cfg.Keys != nil {
				body = s.cfg.Keys.Seal(rec.Body, m.SHA256[:])
			}
			if body != nil {
				mr.Chunks = (len(body) + chunkSize - 1) / chunkSize
			}
			b.set(s.sub.meta(m.ID), encode(mr), -1)
			for i := 0; i < mr.Chunks; i++ {
				b.set(s.sub.body(m.ID, i), body[i*chunkSize:min(len(body), (i+1)*chunkSize)], -1)
			}
			for _, ev := range later {
				e := eventRec{State: ev.State, At: unixNano(ev.At)}
				if !ev.Ref.IsZero() {
					ref := ev.Ref
					e.Ref = &ref
				}
				b.add(s.sub.events(m.ID), encode(e))
			}
			e := entryRec{Deliveries: rec.Deliveries, Received: mr.Received, Size: m.Size, Soort: m.Soort, Sender: m.Sender,
				SHA256: mr.SHA256, Conversation: mr.Conversation, Correlation: mr.Correlation}
			switch {
			case !rec.Confirmed.IsZero():
				b.add(s.sub.confirmations(), encode(confirmRec{ID: m.ID, At: rec.Confirmed.UnixNano()}))
			case rec.Quarantined:
				e.Recipient = m.Recipient
				b.set(s.sub.quarantine(m.ID), encode(e), -1)
			default:
				b.set(s.sub.entry(m.Recipient, m.ID), encode(e), -1)
			}
			if mr.Conversation != m.ID {
				b.add(s.sub.conv(mr.Conversation), []byte(m.ID.String()))
			}
			b.set(dsubj, encode(dedupRec{ID: m.ID, SHA256: m.SHA256[:]}), 0)
			if m.Correlation != nil {
				plan.write(b, m.Correlation, m.ID)
			}
		})
		if err == nil {
			imported = true
			switch {
			case !rec.Confirmed.IsZero():
			case rec.Quarantined:
				s.stats.quarantined.Add(1)
			default:
				s.stats.pending.Add(1)
			}
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("importing message %s: %w", m.ID, err)
	}
	return imported, nil
}
