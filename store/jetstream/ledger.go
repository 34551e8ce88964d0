package jetstream

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"

	"github.com/knooppunt/knooppunt/store"
)

// The aanleveringen ledger (store/ledger.go) on JetStream:
//
//	P.l.<key hex>     state: the last status of a key and the message that
//	                  wrote it (ledgerRec); an empty value is a tombstone
//
// Put reads the entries of a message's keys and writes their new statuses
// in the message's own atomic batch, each with compare-and-set against the
// sequence it read, so of two Puts that deliver one key, on any nodes,
// exactly one is stored; the other loses the race, re-reads from the
// leader and is refused. A refusal read from a replica, which may lag, is
// read again from the leader before it stands. The message's record lists
// its keys (metaRec.Ledger), so the janitor's purge clears the entries it
// wrote last, with compare-and-set too: an entry another message has
// written since stays.

func (s subjects) ledger(key [32]byte) string { return s.p + ".l." + hex.EncodeToString(key[:]) }

// ledgerRec is the value of a ledger subject.
type ledgerRec struct {
	Status string   `json:"s"`
	ID     store.ID `json:"id"`
	At     int64    `json:"at"`
}

// ledgerWrite is one key's new status with the sequence its
// compare-and-set expects.
type ledgerWrite struct {
	store.Aanlevering
	seq uint64
}

// ledgerPlan is what a Put writes to the ledger.
type ledgerPlan []ledgerWrite

// planLedger reads the entries of as's keys with read and plans their new
// statuses (store.PlanLedger). leader says read asks the stream leader; a
// refusal read otherwise is read again from the leader.
func (s *Store) planLedger(ctx context.Context, as []store.Aanlevering, read readFunc, leader bool) (ledgerPlan, error) {
	seqs := make(map[[32]byte]uint64, len(as))
	statuses, err := store.PlanLedger(as, func(key [32]byte) (bool, error) {
		status, seq, err := s.ledgerEntry(ctx, key, read)
		seqs[key] = seq
		return status == store.StatusDelivered, err
	})
	if _, refused := errors.AsType[*store.AanleveringError](err); refused && !leader {
		return s.planLedger(ctx, as, s.lastLeader, true)
	}
	if err != nil {
		return nil, err
	}
	plan := make(ledgerPlan, len(statuses))
	for i, a := range statuses {
		plan[i] = ledgerWrite{Aanlevering: a, seq: seqs[a.Key]}
	}
	return plan, nil
}

// ledgerEntry reads key's entry: its status ("" when absent) and the
// subject's last sequence (0: none).
func (s *Store) ledgerEntry(ctx context.Context, key [32]byte, read readFunc) (string, uint64, error) {
	r, seq, err := s.ledgerRecord(ctx, key, read)
	return r.Status, seq, err
}

func (s *Store) ledgerRecord(ctx context.Context, key [32]byte, read readFunc) (ledgerRec, uint64, error) {
	var r ledgerRec
	m, found, err := read(ctx, s.sub.ledger(key))
	if err != nil || !found || len(m.data) == 0 { // an empty value is a tombstone
		return r, m.seq, err
	}
	if err := decode(m.data, &r, "aanleveringen ledger entry"); err != nil {
		return r, m.seq, err
	}
	if r.Status != store.StatusDelivered && r.Status != store.StatusRemoved {
		return ledgerRec{}, m.seq, fmt.Errorf("decoding aanleveringen ledger entry: status %q: %w", r.Status, store.ErrCorrupt)
	}
	return r, m.seq, nil
}

// keys are the plan's keys in hex, for the message's record.
func (p ledgerPlan) keys() []string {
	if len(p) == 0 {
		return nil
	}
	out := make([]string, len(p))
	for i, w := range p {
		out[i] = hex.EncodeToString(w.Key[:])
	}
	return out
}

// write adds the planned statuses, written by message id, to b.
func (p ledgerPlan) write(b *builder, id store.ID) {
	for _, w := range p {
		b.set(b.s.sub.ledger(w.Key), encode(ledgerRec{Status: w.Status, ID: id, At: b.now.UnixNano()}), int64(w.seq))
	}
}

// unledger clears the ledger entries message id, whose record lists keys,
// wrote last; an entry written since by another message, or a lost race
// with such a write, leaves the entry to that message.
func (s *Store) unledger(ctx context.Context, id store.ID, keys []string) error {
	for _, k := range keys {
		var key [32]byte
		if b, err := hex.DecodeString(k); err != nil || len(b) != len(key) {
			continue // not one of ours: nothing to clear
		} else {
			copy(key[:], b)
		}
		r, seq, err := s.ledgerRecord(ctx, key, s.lastLeader)
		if err != nil {
			return err
		}
		if r.ID != id {
			continue
		}
		h := nats.Header{"Nats-Rollup": []string{"sub"}}
		h.Set("Nats-TTL", tombstoneTTL)
		h.Set("Nats-Expected-Last-Subject-Sequence", strconv.FormatUint(seq, 10))
		_, _, err = s.publishBatch(ctx, []*nats.Msg{{Subject: s.sub.ledger(key), Header: h}})
		if err != nil && !errors.Is(err, errConflict) {
			return fmt.Errorf("clearing an aanleveringen ledger entry: %w", err)
		}
	}
	return nil
}

// Delivered tells whether the last aanlevering stored under key was
// delivered; see store.Ledger. It asks the stream leader, so that a check
// before Put sees the latest write of any node.
func (s *Store) Delivered(ctx context.Context, key [32]byte) (bool, error) {
	if err := s.enter(); err != nil {
		return false, err
	}
	defer s.leave()
	status, _, err := s.ledgerEntry(ctx, key, s.lastLeader)
	if err != nil {
		return false, fmt.Errorf("reading aanleveringen ledger: %w", err)
	}
	return status == store.StatusDelivered, nil
}
