package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/knooppunt/knooppunt/store"
)

// The JetStream wire protocol this package speaks directly: direct gets
// (also batched, which nats.go does not offer), the leader's message get,
// and atomic batch publish (no helper in nats.go either).

// Error codes of the JetStream API that the store acts on.
const (
	errCodeWrongLastSeq         = 10071 // expected last subject sequence did not match
	errCodeWrongLastSeqConstant = 10164 // the subject is being written by another batch
	errCodeMsgNotFound          = 10037
	errCodeUnavailable          = 10008 // JetStream system temporarily unavailable: no stream leader
	errCodeNoPeers              = 10005 // no suitable peers for placement: too few servers online for the replicas
)

// errConflict means a compare-and-set lost: the caller re-reads and retries.
var errConflict = errors.New("jetstream store: concurrent update")

// unavailable marks err as store.ErrUnavailable when it says the cluster
// cannot answer right now: nobody answers the JetStream API, the request
// or commit timed out on its own deadline (not the caller's), the
// connection is down, or the stream has no leader or too few servers.
// The caller may repeat the call; the gateway answers 503.
func unavailable(ctx context.Context, err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	var ae *apiError
	switch {
	case errors.Is(err, nats.ErrNoResponders), errors.Is(err, nats.ErrTimeout),
		errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionReconnecting),
		errors.Is(err, nats.ErrDisconnected),
		errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil,
		errors.As(err, &ae) && (ae.ErrCode == errCodeUnavailable || ae.ErrCode == errCodeNoPeers):
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}

// stored is one message read back from the stream.
type stored struct {
	subject string
	seq     uint64
	data    []byte
}

// apiError is the error object of a JetStream API response.
type apiError struct {
	Code        int    `json:"code"`
	ErrCode     int    `json:"err_code"`
	Description string `json:"description"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("jetstream: %s (%d)", e.Description, e.ErrCode)
}

// last returns the last message of subject, read from any replica (direct
// get); found is false if the subject holds none. A replica may lag the
// leader: callers that must see their own writes use lastLeader.
func (s *Store) last(ctx context.Context, subject string) (stored, bool, error) {
	caller := ctx
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	m, err := s.nc.RequestWithContext(ctx, "$JS.API.DIRECT.GET."+s.cfg.Stream+"."+subject, nil)
	if err != nil {
		return stored{}, false, unavailable(caller, fmt.Errorf("reading %s: %w", s.kind(subject), err))
	}
	if len(m.Data) == 0 {
		switch st := m.Header.Get("Status"); st {
		case "404":
			return stored{}, false, nil
		case "":
		case "408", "503": // no replica answered in time, or none is there
			return stored{}, false, fmt.Errorf("%w: reading %s: status %s %s", store.ErrUnavailable, s.kind(subject), st, m.Header.Get("Description"))
		default:
			return stored{}, false, fmt.Errorf("reading %s: status %s %s", s.kind(subject), st, m.Header.Get("Description"))
		}
	}
	seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
	if err != nil {
		return stored{}, false, fmt.Errorf("reading %s: no sequence in direct get response", s.kind(subject))
	}
	return stored{subject: subject, seq: seq, data: m.Data}, true, nil
}

// lastLeader is last, answered by the stream leader, which has applied
// every acknowledged write. While the stream has no leader (an election
// after a server failed) the answer is "temporarily unavailable"; the read
// is tried again, with a growing pause, until the request timeout.
func (s *Store) lastLeader(ctx context.Context, subject string) (stored, bool, error) {
	return s.leaderRead(ctx, subject, false)
}

// leaderRead is lastLeader; with replicas, each time the leader cannot
// answer, the replicas are asked again too, and a message they have is the
// answer.
func (s *Store) leaderRead(ctx context.Context, subject string, replicas bool) (stored, bool, error) {
	caller := ctx
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	pause := 25 * time.Millisecond
	for {
		m, ok, err := s.leaderGetOnce(ctx, subject, msgGet{LastFor: subject})
		var ae *apiError
		if !errors.As(err, &ae) || ae.ErrCode != errCodeUnavailable {
			return m, ok, unavailable(caller, err)
		}
		if replicas {
			if r, found, rerr := s.last(ctx, subject); rerr == nil && found {
				return r, true, nil
			}
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return m, ok, unavailable(caller, err)
		case <-t.C:
		}
		pause = min(2*pause, time.Second)
	}
}

// msgGet is a request of $JS.API.STREAM.MSG.GET.
type msgGet struct {
	Seq     uint64 `json:"seq,omitempty"`
	LastFor string `json:"last_by_subj,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`
}

// leaderGetOnce asks the stream leader once for the message req names;
// subject names what is read in errors.
func (s *Store) leaderGetOnce(ctx context.Context, subject string, req msgGet) (stored, bool, error) {
	body, _ := json.Marshal(req)
	m, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+s.cfg.Stream, body)
	if err != nil {
		return stored{}, false, fmt.Errorf("reading %s: %w", s.kind(subject), err)
	}
	var resp struct {
		Error   *apiError `json:"error"`
		Message *struct {
			Subject  string `json:"subject"`
			Sequence uint64 `json:"seq"`
			Data     []byte `json:"data"`
		} `json:"message"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return stored{}, false, fmt.Errorf("reading %s: decoding response: %w", s.kind(subject), err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrCode == errCodeMsgNotFound:
		return stored{}, false, nil
	case resp.Error != nil:
		return stored{}, false, fmt.Errorf("reading %s: %w", s.kind(subject), resp.Error)
	case resp.Message == nil:
		return stored{}, false, fmt.Errorf("reading %s: empty response", s.kind(subject))
	}
	return stored{subject: resp.Message.Subject, seq: resp.Message.Sequence, data: resp.Message.Data}, true, nil
}

// lastFresh reads subject from a replica and, if it finds nothing there,
// asks the leader: a message just stored must not be reported missing.
func (s *Store) lastFresh(ctx context.Context, subject string) (stored, bool, error) {
	m, ok, err := s.last(ctx, subject)
	if err != nil || ok {
		return m, ok, err
	}
	return s.lastLeader(ctx, subject)
}

// lastWritten is lastFresh for a subject written once, such as a
// message's record or a chunk of its bytes, where any copy is the one.
// While the stream leader cannot answer (an election; the JetStream of
// the server this node is connected to not yet back after a partition),
// the replicas are asked again as well: one that was behind may have
// caught up, and a reader need not wait for the leader.
func (s *Store) lastWritten(ctx context.Context, subject string) (stored, bool, error) {
	m, ok, err := s.last(ctx, subject)
	if err != nil || ok {
		return m, ok, err
	}
	return s.leaderRead(ctx, subject, true)
}

// lastOfBytes bounds the bytes of one answer to lastOf, well below what a
// subscription holds before it drops messages.
const lastOfBytes = 8 << 20

// lastOf reads the last message of each of subjects (literal subjects,
// at most scanBatch) from any replica with one batched direct get, where
// last would take a request each. A subject that holds none, or whose
// message the answer left out (it stops past lastOfBytes), is absent
// from the map; as with last, a replica may lag the leader, so a caller
// that must not miss a message just stored asks again with lastFresh.
func (s *Store) lastOf(ctx context.Context, subjects []string) (map[string]stored, error) {
	req, _ := json.Marshal(struct {
		MultiLast []string `json:"multi_last"`
		Batch     int      `json:"batch"`
		MaxBytes  int      `json:"max_bytes"`
	}{subjects, len(subjects), lastOfBytes})
	got := make(map[string]stored, len(subjects))
	err := s.directAnswer(ctx, req, len(subjects), func(m *nats.Msg) (bool, error) {
		if len(m.Data) == 0 && m.Header.Get("Status") != "" {
			switch st := m.Header.Get("Status"); st {
			case "404", "204": // none of them, or the end of the answer
				return true, nil
			case "408", "503":
				return true, fmt.Errorf("%w: status %s %s", store.ErrUnavailable, st, m.Header.Get("Description"))
			default:
				return true, fmt.Errorf("status %s %s", st, m.Header.Get("Description"))
			}
		}
		seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
		if err != nil {
			return true, errors.New("no sequence in response")
		}
		subj := m.Header.Get("Nats-Subject")
		got[subj] = stored{subject: subj, seq: seq, data: m.Data}
		return false, nil
	})
	if err != nil {
		return nil, unavailable(ctx, fmt.Errorf("reading %s: %w", s.kind(subjects[0]), err))
	}
	return got, nil
}

// directAnswer sends req to the stream's direct get and hands fn each
// message of the answer (up to most messages, then an end: a status
// without data, which fn receives too) until fn says it is done. The
// answer arrives on a subscription whose channel has room for just that;
// a synchronous subscription's has room for 65,536 messages, a 512 KiB
// allocation cleared for every request.
func (s *Store) directAnswer(ctx context.Context, req []byte, most int, fn func(m *nats.Msg) (done bool, err error)) error {
	ctx, cancel := s.reqCtx(ctx)
	defer cancel()
	inbox := s.nc.NewRespInbox()
	ch := make(chan *nats.Msg, most+1)
	sub, err := s.nc.ChanSubscribe(inbox, ch)
	if err != nil {
		return err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := s.nc.PublishRequest("$JS.API.DIRECT.GET."+s.cfg.Stream, inbox, req); err != nil {
		return err
	}
	for {
		select {
		case m := <-ch:
			if done, err := fn(m); done || err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// scanBatch is how many messages one batched direct get asks for.
const scanBatch = 256

// scan calls fn for every message matching filter with a sequence of at
// least from, in sequence order, until fn returns false or an error. It
// reads with batched direct gets.
func (s *Store) scan(ctx context.Context, filter string, from uint64, fn func(m stored) (bool, error)) error {
	if from == 0 {
		from = 1
	}
	for {
		n, next, more, err := s.scanOnce(ctx, filter, from, fn)
		if err != nil || !more || n == 0 {
			return err
		}
		from = next
	}
}

// scanOnce runs one batched direct get. more reports that messages remain
// after next.
func (s *Store) scanOnce(ctx context.Context, filter string, from uint64, fn func(m stored) (bool, error)) (n int, next uint64, more bool, err error) {
	req, _ := json.Marshal(struct {
		Seq     uint64 `json:"seq"`
		NextFor string `json:"next_by_subj"`
		Batch   int    `json:"batch"`
	}{from, filter, scanBatch})
	stop := false
	var fnErr error // fn's own, returned as it is
	err = s.directAnswer(ctx, req, scanBatch, func(m *nats.Msg) (bool, error) {
		if len(m.Data) == 0 && m.Header.Get("Status") != "" {
			switch m.Header.Get("Status") {
			case "404":
				return true, nil
			case "204": // end of batch
				pending, _ := strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
				lastSeq, _ := strconv.ParseUint(m.Header.Get("Nats-Last-Sequence"), 10, 64)
				next, more = lastSeq+1, pending > 0 && !stop
				return true, nil
			default:
				return true, fmt.Errorf("status %s %s", m.Header.Get("Status"), m.Header.Get("Description"))
			}
		}
		if stop {
			return false, nil // drain to the end of the batch
		}
		seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
		if err != nil {
			return true, errors.New("no sequence in response")
		}
		n++
		goOn, err := fn(stored{subject: m.Header.Get("Nats-Subject"), seq: seq, data: m.Data})
		if err != nil {
			fnErr = err
			return true, err
		}
		stop = !goOn
		return false, nil
	})
	switch {
	case fnErr != nil:
		return n, 0, false, fnErr
	case err != nil:
		return n, 0, false, fmt.Errorf("scanning %s: %w", s.kind(filter), err)
	}
	return n, next, more, nil
}

// publishBatch publishes msgs as one atomic batch and waits for the
// cluster's acknowledgement of the commit: either all are stored (durably,
// as the servers' sync settings make it) or none is. It returns the
// sequences of the first and the last message: the batch takes
// consecutive sequences, and first is 0 if the acknowledgement does not
// say how many it stored. A lost compare-and-set gives errConflict. Any
// other error leaves the outcome unknown; every operation of the store is
// safe to repeat.
func (s *Store) publishBatch(ctx context.Context, msgs []*nats.Msg) (first, last uint64, err error) {
	id := nuid.Next()
	for i, m := range msgs {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set("Nats-Batch-Id", id)
		m.Header.Set("Nats-Batch-Sequence", strconv.Itoa(i+1))
		if i < len(msgs)-1 {
			if err := s.nc.PublishMsg(m); err != nil {
				return 0, 0, unavailable(ctx, fmt.Errorf("publishing batch: %w", err))
			}
		}
	}
	commit := msgs[len(msgs)-1]
	commit.Header.Set("Nats-Batch-Commit", "1")
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CommitTimeout)
	defer cancel()
	r, err := s.nc.RequestMsgWithContext(ctx, commit)
	if err != nil {
		return 0, 0, unavailable(caller, fmt.Errorf("committing batch of %d: %w", len(msgs), err))
	}
	var ack struct {
		Error *apiError `json:"error"`
		Seq   uint64    `json:"seq"`
		Count int       `json:"count"`
	}
	if err := json.Unmarshal(r.Data, &ack); err != nil {
		if st := r.Header.Get("Status"); st == "503" { // no responders
			return 0, 0, fmt.Errorf("%w: committing batch: status %s", store.ErrUnavailable, st)
		} else if st != "" {
			return 0, 0, fmt.Errorf("committing batch: status %s", st)
		}
		return 0, 0, fmt.Errorf("committing batch: decoding acknowledgement: %w", err)
	}
	if ack.Error != nil {
		if ack.Error.ErrCode == errCodeWrongLastSeq || ack.Error.ErrCode == errCodeWrongLastSeqConstant {
			return 0, 0, errConflict
		}
		return 0, 0, unavailable(caller, fmt.Errorf("committing batch of %d: %w", len(msgs), ack.Error))
	}
	if ack.Count == len(msgs) && ack.Seq >= uint64(len(msgs)) {
		first = ack.Seq - uint64(len(msgs)) + 1
	}
	return first, ack.Seq, nil
}

// reqCtx bounds a request by RequestTimeout unless ctx ends sooner.
func (s *Store) reqCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < s.cfg.RequestTimeout {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, s.cfg.RequestTimeout)
}

// kind names what a subject holds, for errors: subjects carry party codes
// and ids, which stay out of error texts.
func (s *Store) kind(subject string) string {
	rest := subject[len(s.cfg.Subject)+1:]
	if len(rest) == 0 {
		return "stream"
	}
	switch rest[0] {
	case 'm':
		return "message record"
	case 'b':
		return "message bytes"
	case 'e':
		return "history"
	case 'q':
		return "mailbox"
	case 'x':
		return "quarantine"
	case 'd':
		return "dedup index"
	case 'c':
		return "conversation"
	case 'r':
		return "confirmation log"
	case 'k':
		if strings.HasPrefix(rest, "k.trail.") {
			return "audit trail head"
		}
		return "janitor cursor"
	case 'l':
		return "aanleveringen ledger"
	case 'a':
		return "receptions log"
	case 'f':
		if len(rest) > 2 && (rest[2] == 't' || rest[2] == 'v' || rest[2] == 'a') {
			return "correlation index"
		}
		return "reference number"
	}
	return "stream"
}
