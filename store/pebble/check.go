package pebble

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/knooppunt/knooppunt/store"
)

// maxProblems bounds the problems Check reports.
const maxProblems = 20

// Check verifies that the store's tables agree with each other: every
// mailbox and quarantine entry has its record and payload, no message is
// both pending and quarantined, each dedup key names exactly one record,
// every record's dedup key points back at it, no mailbox entry lies below
// its mailbox head, and the persisted counters equal the entries counted.
// It reads the whole store, so it is for tests and operators, not for the
// hot path. Problems are reported with ErrCorrupt.
func (p *Store) Check(ctx context.Context) error {
	if err := p.enter(); err != nil {
		return err
	}
	defer p.leave()
	snap := p.db.NewSnapshot()
	defer snap.Close()
	c := &checker{snap: snap}
	if err := c.run(ctx); err != nil {
		return fmt.Errorf("checking store: %w", err)
	}
	if len(c.problems) > 0 {
		return fmt.Errorf("checking store: %d problems: %w: %w", len(c.problems), store.ErrCorrupt, errors.Join(c.problems...))
	}
	return nil
}

type checker struct {
	snap     *pebble.Snapshot
	problems []error
}

func (c *checker) problem(format string, args ...any) {
	if len(c.problems) < maxProblems {
		c.problems = append(c.problems, fmt.Errorf(format, args...))
	}
}

// scan calls fn for every key of one table.
func (c *checker) scan(ctx context.Context, tag byte, fn func(k, v []byte) error) error {
	it, err := c.snap.NewIter(&pebble.IterOptions{LowerBound: []byte{tag}, UpperBound: []byte{tag + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := fn(it.Key(), v); err != nil {
			return err
		}
	}
	return it.Error()
}

func (c *checker) exists(k []byte) (bool, error) {
	_, closer, err := c.snap.Get(k)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, closer.Close()
}

func (c *checker) run(ctx context.Context) error {
	records := map[store.ID]recordMeta{}
	err := c.scan(ctx, tagMeta, func(k, v []byte) error {
		if len(k) < 18 {
			c.problem("short metadata key")
			return nil
		}
		id, _ := decodeID(k[1:17], "id")
		if k[17] != metaBase {
			if _, ok := records[id]; !ok {
				c.problem("history of %s without record", id)
			}
			return nil
		}
		rec, err := decodeMeta(v)
		if err != nil {
			c.problem("record %s: %v", id, err)
			return nil
		}
		records[id] = rec
		return nil
	})
	if err != nil {
		return err
	}
	dedup := map[string]store.ID{}
	err = c.scan(ctx, tagDedup, func(k, v []byte) error {
		id, _, err := decodeDedup(v)
		if err != nil {
			c.problem("dedup entry: %v", err)
			return nil
		}
		if _, ok := records[id]; !ok {
			c.problem("dedup entry names %s, which has no record", id)
		}
		dedup[string(k)] = id
		return nil
	})
	if err != nil {
		return err
	}
	for id, rec := range records {
		k := dedupKey(store.Key{Sender: rec.Sender, Soort: rec.Soort, Identificatie: rec.Identificatie})
		if got, ok := dedup[string(k)]; !ok || got != id {
			c.problem("record %s is not the one its dedup key names (%s)", id, got)
		}
	}
	var pending, quarantined int64
	inQueue := map[store.ID]bool{}
	heads := map[string]store.ID{}
	err = c.scan(ctx, tagHead, func(k, v []byte) error {
		h, err := decodeID(v, "head")
		if err != nil {
			c.problem("mailbox head: %v", err)
			return nil
		}
		heads[string(k[1:])] = h
		return nil
	})
	if err != nil {
		return err
	}
	err = c.scan(ctx, tagQueue, func(k, v []byte) error {
		i := bytes.IndexByte(k, 0)
		id, ok := queueKeyID(k)
		if i < 0 || !ok || len(k) != i+17 {
			c.problem("malformed mailbox key")
			return nil
		}
		party := string(k[1:i])
		pending++
		inQueue[id] = true
		if _, err := decodeEntry(v, false); err != nil {
			c.problem("mailbox entry %s: %v", id, err)
		}
		if h, ok := heads[party]; ok && less(id, h) {
			c.problem("mailbox entry %s lies below its head %s", id, h)
		}
		return c.payload(records, id, party)
	})
	if err != nil {
		return err
	}
	err = c.scan(ctx, tagQuarantine, func(k, v []byte) error {
		id, err := decodeID(k[1:], "quarantine key")
		if err != nil {
			c.problem("%v", err)
			return nil
		}
		quarantined++
		if inQueue[id] {
			c.problem("message %s is both pending and quarantined", id)
		}
		rec, err := decodeEntry(v, true)
		if err != nil {
			c.problem("quarantine entry %s: %v", id, err)
			return nil
		}
		return c.payload(records, id, rec.Recipient)
	})
	if err != nil {
		return err
	}
	err = c.scan(ctx, tagBody, func(k, v []byte) error {
		id, err := decodeID(k[1:], "payload key")
		if err != nil {
			c.problem("%v", err)
			return nil
		}
		if rec, ok := records[id]; !ok {
			c.problem("payload %s without record", id)
		} else if int64(store.PlainLen(v)) != rec.Size { // PlainLen: bodies may be sealed (seal.go)
			c.problem("payload %s is %d bytes, record says %d", id, store.PlainLen(v), rec.Size)
		}
		return nil
	})
	if err != nil {
		return err
	}
	v, closer, err := c.snap.Get(keyCounters)
	if err != nil {
		return fmt.Errorf("reading counters: %w", err)
	}
	cnt, err := decodeCounters(v)
	_ = closer.Close()
	if err != nil {
		return err
	}
	if cnt.pending != pending || cnt.quarantined != quarantined {
		c.problem("counters say %d pending, %d quarantined; found %d and %d", cnt.pending, cnt.quarantined, pending, quarantined)
	}
	return nil
}

// payload checks that an entry of party's mailbox has its record and bytes.
func (c *checker) payload(records map[store.ID]recordMeta, id store.ID, party string) error {
	rec, ok := records[id]
	if !ok {
		c.problem("mailbox entry %s without record", id)
		return nil
	}
	if rec.Recipient != party {
		c.problem("mailbox entry %s filed under another party than its recipient", id)
	}
	ok, err := c.exists(bodyKey(id))
	if err != nil {
		return err
	}
	if !ok {
		c.problem("mailbox entry %s without payload", id)
	}
	return nil
}
