package store

import (
	"context"
	"fmt"
)

// Correlations of messages from VECOZO's exchange API live in the
// reference table (refs.go) beside the reference numbers, so they share
// its expiry index and are kept MetadataRetention after they were written:
//
//	f t <traceer:16>       traceerId → message: at(8) id(16)
//	f r <id:16>            message → correlation: at(8) traceer(16) conversatie(16) alsAntwoordOp(16) referentieId
//	f v <conversatie:16>   conversatieId → first message: at(8) id(16)
const (
	refTraceer     = 't'
	refCorrelation = 'r'
	refConversatie = 'v'
)

func encodeCorrelation(c Correlation) []byte {
	v := make([]byte, 0, 48+len(c.ReferentieID))
	v = append(v, c.Traceer[:]...)
	v = append(v, c.Conversatie[:]...)
	v = append(v, c.AlsAntwoordOp[:]...)
	return append(v, c.ReferentieID...)
}

func decodeCorrelation(v []byte) (Correlation, error) {
	var c Correlation
	if len(v) < 48 {
		return c, fmt.Errorf("decoding correlation of %d bytes: %w", len(v), ErrCorrupt)
	}
	copy(c.Traceer[:], v[0:16])
	copy(c.Conversatie[:], v[16:32])
	copy(c.AlsAntwoordOp[:], v[32:48])
	c.ReferentieID = string(v[48:])
	return c, nil
}

func decodeCorrelationID(v []byte) (ID, error) {
	var id ID
	if len(v) != len(id) {
		return id, fmt.Errorf("decoding correlated message id of %d bytes: %w", len(v), ErrCorrupt)
	}
	copy(id[:], v)
	return id, nil
}

// Correlate records, synced, that message id carries c; see
// CorrelationStore. The traceerId check and all three entries are one
// write, so a traceerId never names two messages.
func (p *Pebble) Correlate(ctx context.Context, id ID, c Correlation) error {
	if id.IsZero() {
		return fmt.Errorf("recording correlation: zero id: %w", ErrInvalid)
	}
	if err := c.Check(); err != nil {
		return fmt.Errorf("recording correlation of %s: %w", id, err)
	}
	tk := refKey(refTraceer, c.Traceer[:])
	rk := refKey(refCorrelation, id[:])
	vk := refKey(refConversatie, c.Conversatie[:])
	err := p.submit(ctx.Done(), ctx.Err, func(w *writer) error {
		rest, taken, err := p.liveRef(w.get, tk, w.now)
		if err != nil {
			return err
		}
		if taken {
			owner, err := decodeCorrelationID(rest)
			if err != nil {
				return err
			}
			if owner != id {
				return fmt.Errorf("traceerId %s names another message: %w", c.Traceer, ErrDuplicate)
			}
		}
		_, hasCorr, err := p.liveRef(w.get, rk, w.now)
		if err != nil {
			return err
		}
		_, hasConv, err := p.liveRef(w.get, vk, w.now)
		if err != nil {
			return err
		}
		if !taken {
			w.setRef(tk, id[:])
		}
		if !hasCorr {
			w.setRef(rk, encodeCorrelation(c))
		}
		if !hasConv {
			w.setRef(vk, id[:])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording correlation of %s: %w", id, err)
	}
	return nil
}

// readRef reads a live reference entry outside the committer.
func (p *Pebble) readRef(k []byte) ([]byte, bool, error) {
	if err := p.enter(); err != nil {
		return nil, false, err
	}
	defer p.leave()
	return p.liveRef(func(k []byte) ([]byte, error) { return getFrom(p.db, k) }, k, p.cfg.Now())
}

// Correlation returns the correlation recorded for message id.
func (p *Pebble) Correlation(ctx context.Context, id ID) (Correlation, bool, error) {
	rest, ok, err := p.readRef(refKey(refCorrelation, id[:]))
	if err != nil {
		return Correlation{}, false, fmt.Errorf("reading correlation of %s: %w", id, err)
	}
	if !ok {
		return Correlation{}, false, nil
	}
	c, err := decodeCorrelation(rest)
	if err != nil {
		return Correlation{}, false, fmt.Errorf("reading correlation of %s: %w", id, err)
	}
	return c, true, nil
}

// ByTraceer returns the message a traceerId names.
func (p *Pebble) ByTraceer(ctx context.Context, traceer UUID) (ID, bool, error) {
	id, ok, err := p.correlatedID(refKey(refTraceer, traceer[:]))
	if err != nil {
		return ID{}, false, fmt.Errorf("reading message of traceerId %s: %w", traceer, err)
	}
	return id, ok, nil
}

// ByConversatie returns the first message recorded with a conversatieId.
func (p *Pebble) ByConversatie(ctx context.Context, conversatie UUID) (ID, bool, error) {
	id, ok, err := p.correlatedID(refKey(refConversatie, conversatie[:]))
	if err != nil {
		return ID{}, false, fmt.Errorf("reading message of conversatieId %s: %w", conversatie, err)
	}
	return id, ok, nil
}

func (p *Pebble) correlatedID(k []byte) (ID, bool, error) {
	rest, ok, err := p.readRef(k)
	if err != nil || !ok {
		return ID{}, false, err
	}
	id, err := decodeCorrelationID(rest)
	if err != nil {
		return ID{}, false, err
	}
	return id, true, nil
}
