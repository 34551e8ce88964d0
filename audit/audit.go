// Package audit is the switch's tamper-evident audit trail: an append-only
// log of every access to personal data — who, when, what action, which
// message id, from where — and never the content itself.
//
// Entries form a hash chain: each carries the SHA-256 of its predecessor
// and its own hash over all its fields, so a changed, removed or inserted
// entry breaks the chain at that point and Verify names the place. The
// chain is keyless, so it proves the log was not altered since a known head
// hash: operators record the head (Log.Head, `knooppunt audit verify`)
// outside the node, e.g. in their ticketing or SIEM, at least daily.
//
// Append returns only once the entry is on disk (fsync, shared by
// concurrent appends: group commit), and the gateway appends before it
// sends the response that hands out data, so no access goes unrecorded.
// The one exception keeps that promise another way: the record of a
// message received on the Pebble store is synced in the message's own
// commit, on the store's change feed, from which the Follower writes it here
// (AppendAll) shortly after.
package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/knooppunt/knooppunt/store"
)

// Action names what was done. The values are stable: they appear in the
// file, in GET /v1/audit and in filters.
type Action string

// The actions recorded.
const (
	Received       Action = "received"        // a message was accepted and stored
	Listed         Action = "listed"          // a mailbox listing was read
	Fetched        Action = "fetched"         // a message body was downloaded
	Confirmed      Action = "confirmed"       // a message was confirmed (acknowledged)
	TraceViewed    Action = "trace-viewed"    // track & trace of a message was read
	SignalProduced Action = "signal-produced" // a samenloop signal was produced
	RegisterImport Action = "register-import" // a register (e.g. Wlz) was imported
	StuurinfoQuery Action = "stuurinfo-query" // stuurinformatie was queried
	ConfigChanged  Action = "config-changed"  // the configuration was reloaded
	AuditQueried   Action = "audit-queried"   // the audit trail itself was read
	Pruned         Action = "pruned"          // entries past retention were removed
	KeysRotated    Action = "keys-rotated"    // the data key in use changed
	// QuarantineListed: the quarantine was listed; Released: an operator
	// released a message from it.
	QuarantineListed Action = "quarantine-listed"
	Released         Action = "released"
	// BackupMade: an operator had the node copy everything it keeps
	// (POST /v1/backup).
	BackupMade Action = "backup-made"
	// OperationsViewed: an operator read the operations page, which names
	// quarantined messages and mailboxes (GET /operations).
	OperationsViewed Action = "operations-viewed"
)

// Entry is one line of the trail. It holds identifiers only: party codes,
// principal ids, message ids, a remote address — never message content.
type Entry struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Action    Action    `json:"action"`
	MessageID string    `json:"message_id,omitempty"`
	Remote    string    `json:"remote,omitempty"`
	// Detail is a short non-personal note, e.g. "first kept 42" on a
	// pruned entry or the number of messages of a batch.
	Detail string `json:"detail,omitempty"`
	// Prev is the hash of the previous entry (hex); 64 zeros for the first
	// entry ever written.
	Prev string `json:"prev"`
	// Hash is the SHA-256 (hex) over all fields above.
	Hash string `json:"hash"`
}

// Genesis is the Prev of the first entry ever written.
var Genesis = hex.EncodeToString(make([]byte, sha256.Size))

// hash computes the entry's hash: SHA-256 over its fields, each length
// prefixed so no two different entries encode the same.
func (e *Entry) hash() string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	field := func(s string) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	field(strconv.FormatUint(e.Seq, 10))
	field(e.Time.UTC().Format(time.RFC3339Nano))
	field(e.Principal)
	field(string(e.Action))
	field(e.MessageID)
	field(e.Remote)
	field(e.Detail)
	field(e.Prev)
	return hex.EncodeToString(h.Sum(nil))
}

// Errors of the package; test with errors.Is.
var (
	// ErrTampered means the chain is broken: an entry was changed,
	// removed or inserted.
	ErrTampered = errors.New("audit trail tampered")
	// ErrClosed is returned by a closed Log.
	ErrClosed = errors.New("audit trail closed")
	// ErrInvalid is a bad argument, such as an entry without principal.
	ErrInvalid = errors.New("invalid audit entry")
)

// FileName is the trail's file inside its directory.
const FileName = "audit.log"

// DefaultRetention is how long entries are kept by default: five years,
// the period healthcare access logs are commonly kept for (NEN 7513
// practice); the operator sets what its own policy demands.
const DefaultRetention = 5 * 365 * 24 * time.Hour

// maxLine bounds one line of the file when reading it back, so a damaged
// file cannot make the reader allocate without bound.
const maxLine = 64 << 10

// Config configures a Log.
type Config struct {
	// Dir holds the trail (FileName). Required; created if absent.
	Dir string
	// Retention is how long entries are kept; Prune removes older ones.
	// Default DefaultRetention; negative keeps everything.
	Retention time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// PruneEvery is how often the open trail prunes itself to Retention,
	// besides whatever Prune calls the owner makes. Default 24 hours;
	// negative prunes only on request.
	PruneEvery time.Duration
	// Logger receives the trail's own log lines (never entry contents
	// beyond sequence numbers). Default: disabled.
	Logger zerolog.Logger
}

// DefaultPruneEvery is how often an open trail applies its retention.
const DefaultPruneEvery = 24 * time.Hour

// Recorder is where a package records an access to personal data: signal
// produced, register imported, stuurinformatie queried. *Log implements
// it; Append returns once the entry is durable.
type Recorder interface {
	Append(ctx context.Context, e Entry) (Entry, error)
}

// Log is an open audit trail. Safe for concurrent use.
type Log struct {
	cfg  Config
	path string

	mu     sync.Mutex // guards the fields below and writes to f
	f      *os.File
	size   int64 // bytes of f that hold whole entries
	seq    uint64
	head   string
	closed bool

	// gate fences Append's hand-over to the committer against Close: an
	// appender holds it shared while it queues, Close exclusively while it
	// marks the log closed, so no entry is queued after the committer ends.
	gate sync.RWMutex
	reqs chan *pending // appends waiting for the committer
	quit chan struct{} // closed by Close: the committer commits what is queued and ends
	done chan struct{} // closed when the committer has ended

	stop     chan struct{} // closed by Close: ends the periodic pruning
	stopOnce sync.Once
	pruned   chan struct{} // closed when the periodic pruning has ended
}

// pending is one Append waiting for the committer.
type pending struct {
	e    Entry
	err  error
	done chan struct{}
}

// Open opens (or creates) the trail in cfg.Dir, verifying the whole chain
// first: a tampered trail is refused with ErrTampered rather than extended.
// A last line without its newline is the torn tail of a write a crash
// interrupted; no Append returned it, so it is cut off (and logged).
// The directory is created with mode store.DirMode and the file store.FileMode; an
// existing one open to group or others is logged as a warning (WarnMode).
func Open(cfg Config) (*Log, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("opening audit trail: no directory: %w", ErrInvalid)
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PruneEvery == 0 {
		cfg.PruneEvery = DefaultPruneEvery
	}
	if err := store.MkdirPrivate(cfg.Dir); err != nil {
		return nil, fmt.Errorf("opening audit trail: %w", err)
	}
	l := &Log{cfg: cfg, path: filepath.Join(cfg.Dir, FileName), head: Genesis}
	store.WarnMode(cfg.Logger, cfg.Dir)
	store.WarnMode(cfg.Logger, l.path)
	if err := l.cutTornTail(); err != nil {
		return nil, fmt.Errorf("opening audit trail %s: %w", l.path, err)
	}
	res, err := VerifyFile(l.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("opening audit trail %s: %w", l.path, err)
	}
	if res.Entries > 0 {
		l.seq, l.head = res.Last, res.Head
	}
	if l.f, err = openPrivate(l.path, os.O_WRONLY|os.O_APPEND); err != nil {
		return nil, fmt.Errorf("opening audit trail: %w", err)
	}
	if fi, err := l.f.Stat(); err == nil {
		l.size = fi.Size()
	}
	l.reqs = make(chan *pending, maxGroup)
	l.quit, l.done = make(chan struct{}), make(chan struct{})
	l.stop, l.pruned = make(chan struct{}), make(chan struct{})
	go l.commitLoop()
	go l.pruneLoop()
	return l, nil
}

// cutTornTail truncates the file after its last newline if it does not end
// with one. Entries are written whole and acknowledged only once synced,
// so the cut part was never acknowledged.
func (l *Log) cutTornTail() error {
	f, err := os.OpenFile(l.path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	// A line is at most maxLine bytes, so the last newline of a sound
	// file is among its last maxLine+1 bytes.
	end := fi.Size()
	n := min(end, maxLine+1)
	tail := make([]byte, n)
	if _, err := f.ReadAt(tail, end-n); err != nil {
		return err
	}
	i := bytes.LastIndexByte(tail, '\n')
	switch {
	case i == len(tail)-1:
		return nil // ends with a whole line
	case i < 0 && n > maxLine:
		return fmt.Errorf("the last %d bytes hold no line end: %w", n, ErrTampered)
	}
	return l.truncate(f, end-n+int64(i)+1, end)
}

func (l *Log) truncate(f *os.File, keep, end int64) error {
	if err := f.Truncate(keep); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	l.cfg.Logger.Warn().Int64("offset", keep).Int64("bytes", end-keep).Msg("audit trail: cut the torn tail of an interrupted write")
	return nil
}

// pruneLoop applies the retention every cfg.PruneEvery until Close, so a
// switch that runs for months keeps no entry longer than its retention.
func (l *Log) pruneLoop() {
	defer close(l.pruned)
	if l.cfg.PruneEvery < 0 || l.cfg.Retention < 0 {
		return
	}
	t := time.NewTicker(l.cfg.PruneEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if _, err := l.Prune(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
				l.cfg.Logger.Error().Err(err).Msg("pruning the audit trail")
			}
		}
	}
}

// Append adds e to the trail and returns it with Seq, Time (if zero), Prev
// and Hash set, once it is synced to disk. Concurrent appends share one
// write and one fsync (see commitLoop).
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	ps, err := l.submit(ctx, []Entry{e})
	if err != nil {
		return Entry{}, err
	}
	return ps[0].e, nil
}

// AppendAll records entries, in order, and returns once all of them are on
// disk: they reach the committer together, so they share one or a few
// fsyncs. On an error some of them may have been written.
func (l *Log) AppendAll(ctx context.Context, entries []Entry) error {
	_, err := l.submit(ctx, entries)
	return err
}

// submit checks entries, hands them to the committer in order and waits
// until all are synced; the first error wins. An entry without principal
// or action refuses the lot before any is queued.
func (l *Log) submit(ctx context.Context, entries []Entry) ([]*pending, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("appending to the audit trail: %w", err)
	}
	ps := make([]*pending, len(entries))
	for i, e := range entries {
		if e.Principal == "" || e.Action == "" {
			return nil, fmt.Errorf("appending to the audit trail: principal and action are required: %w", ErrInvalid)
		}
		if e.Time.IsZero() {
			e.Time = l.cfg.Now()
		}
		e.Time = e.Time.UTC()
		ps[i] = &pending{e: e, done: make(chan struct{})}
	}
	l.gate.RLock()
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		l.gate.RUnlock()
		return nil, ErrClosed
	}
	for _, p := range ps {
		l.reqs <- p // the committer runs until Close, which waits for the gate
	}
	l.gate.RUnlock()
	var first error
	for _, p := range ps {
		<-p.done
		if first == nil {
			first = p.err
		}
	}
	return ps, first
}

// The write path: one committer goroutine takes every queued entry into a
// group, chains and encodes them, writes the group with one write and makes
// it durable with one fsync before it releases the appenders.
//
// Appends arrive in bursts: the store's committer releases a whole group of
// requests at once, and each reaches Append after a few microseconds of
// work of its own, spread over the CPUs. So a group closes only when no
// append has arrived for quietGap (or it has waited maxWait in all, or is
// full): the burst is written with one fsync instead of being split over
// several. After a group of one — a lone caller — the committer does not
// wait at all.
const (
	maxGroup = 512
	maxWait  = time.Millisecond
	// quietGap closes a group. 200 µs took the fsyncs per ingested
	// message from 0.15 to 0.10 against closing after half the last
	// commit's duration (perf stat of serve under 'knooppunt bench',
	// docs/performance.md).
	quietGap = 200 * time.Microsecond
)

// commitLoop is the committer goroutine.
func (l *Log) commitLoop() {
	defer close(l.done)
	last := 1
	var buf []byte
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var group []*pending
		select {
		case p := <-l.reqs:
			group = append(make([]*pending, 0, max(last, 16)), p)
		case <-l.quit:
			l.commitQueued(buf)
			return
		}
		started := time.Now()
	fill:
		for len(group) < maxGroup {
			select {
			case p := <-l.reqs:
				group = append(group, p)
				continue
			default:
			}
			wait := maxWait - time.Since(started)
			if last <= 1 || wait <= 0 {
				break
			}
			timer.Reset(min(quietGap, wait))
			select {
			case p := <-l.reqs:
				group = append(group, p)
				if !timer.Stop() {
					<-timer.C
				}
			case <-timer.C:
				break fill
			}
		}
		last = len(group)
		buf = l.commit(group, buf[:0])
	}
}

// commitQueued commits the appends still queued at Close: Close fenced out
// new ones before it ended the committer.
func (l *Log) commitQueued(buf []byte) {
	for {
		var group []*pending
	take:
		for len(group) < maxGroup {
			select {
			case p := <-l.reqs:
				group = append(group, p)
			default:
				break take
			}
		}
		if len(group) == 0 {
			return
		}
		buf = l.commit(group, buf[:0])
	}
}

// commit writes the group (see write) and releases its appenders with the
// outcome. It returns the grown scratch buffer for the next group.
func (l *Log) commit(group []*pending, buf []byte) []byte {
	buf, err := l.write(group, buf)
	for _, p := range group {
		p.err = err
		close(p.done)
	}
	return buf
}

// write chains the group's entries onto the trail, writes them with one
// write and syncs the file. buf is scratch space for the encoded lines; the
// grown buffer is returned for the next group. On a failed write the file
// is cut back to its last whole entry and the chain does not advance.
func (l *Log) write(group []*pending, buf []byte) ([]byte, error) {
	l.mu.Lock()
	seq, head := l.seq, l.head
	for _, p := range group {
		seq++
		p.e.Seq, p.e.Prev = seq, head
		p.e.Hash = p.e.hash()
		head = p.e.Hash
		line, err := json.Marshal(&p.e)
		if err != nil {
			l.mu.Unlock()
			return buf, fmt.Errorf("appending to the audit trail: %w", err)
		}
		buf = append(append(buf, line...), '\n')
	}
	if _, err := l.f.Write(buf); err != nil {
		if terr := l.f.Truncate(l.size); terr != nil {
			l.cfg.Logger.Error().Err(terr).Msg("audit trail: cutting back a failed write")
		}
		l.mu.Unlock()
		return buf, fmt.Errorf("appending to the audit trail: %w", err)
	}
	l.size += int64(len(buf))
	l.seq, l.head = seq, head
	f := l.f
	l.mu.Unlock()
	if err := f.Sync(); err != nil {
		l.mu.Lock()
		replaced := l.f != f
		l.mu.Unlock()
		// Prune synced the old file before it swapped in the new one, so
		// every entry written to f is on disk already.
		if !replaced {
			return buf, fmt.Errorf("syncing the audit trail: %w", err)
		}
	}
	return buf, nil
}

// Head returns the sequence number and hash of the last entry, to be
// recorded outside the node as the anchor of a later verification.
func (l *Log) Head() (uint64, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, l.head
}

// Close stops the periodic pruning and closes the trail. Safe to call
// twice.
func (l *Log) Close() error {
	l.stopOnce.Do(func() { close(l.stop) })
	<-l.pruned // a Prune in progress finishes first
	l.gate.Lock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.gate.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.gate.Unlock()
	close(l.quit) // the committer commits what is queued; nothing more can be
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.f.Sync(); err != nil {
		l.f.Close()
		return fmt.Errorf("closing the audit trail: %w", err)
	}
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("closing the audit trail: %w", err)
	}
	return nil
}

// Filter selects entries for Query. Zero fields match everything.
type Filter struct {
	From, To  time.Time // From inclusive, To exclusive
	Principal string
	Action    Action
	MessageID string
	// After is the paging cursor: only entries with a larger Seq.
	After uint64
	// Limit is the most entries returned; 0 means 100, at most 1000.
	Limit int
}

// MaxQueryLimit is the most entries one Query returns.
const MaxQueryLimit = 1000

func (f Filter) match(e *Entry) bool {
	return e.Seq > f.After &&
		(f.From.IsZero() || !e.Time.Before(f.From)) &&
		(f.To.IsZero() || e.Time.Before(f.To)) &&
		(f.Principal == "" || e.Principal == f.Principal) &&
		(f.Action == "" || e.Action == f.Action) &&
		(f.MessageID == "" || e.MessageID == f.MessageID)
}

// Query returns the entries matching f in sequence order, and whether more
// follow (page on with f.After set to the last Seq returned). It scans the
// file: the trail is read rarely, by auditors, and written often.
func (l *Log) Query(ctx context.Context, f Filter) ([]Entry, bool, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, MaxQueryLimit)
	l.mu.Lock()
	closed := l.closed
	l.mu.Unlock()
	if closed {
		return nil, false, ErrClosed
	}
	var out []Entry
	more := false
	err := scan(l.path, func(e *Entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !f.match(e) {
			return nil
		}
		if len(out) == f.Limit {
			more = true
			return errStop
		}
		out = append(out, *e)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, false, fmt.Errorf("querying the audit trail: %w", err)
	}
	return out, more, nil
}

var errStop = errors.New("stop")

// scan calls fn for each entry of the file at path, in order.
func scan(path string, fn func(*Entry) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return scanReader(f, fn)
}

// scanReader calls fn for each entry read from r, in order.
func scanReader(r io.Reader, fn func(*Entry) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return fmt.Errorf("line %d: unreadable entry: %w", line, ErrTampered)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w: %w", line+1, ErrTampered, err)
	}
	return nil
}

// Result is what VerifyFile found.
type Result struct {
	Entries int    // entries checked
	First   uint64 // seq of the first entry (above 1 after pruning)
	Last    uint64 // seq of the last entry
	Head    string // hash of the last entry

	// Breaks lists where the chain does not hold, in trail order, at most
	// MaxBreaks of them; Unlisted counts the breaks beyond.
	Breaks   []Break
	Unlisted int
	// Expected tells what became of the head VerifyThrough was given:
	// found, pruned by retention since, or absent.
	Expected ExpectedHead
}

// MaxBreaks bounds the breaks a Result lists: a trail rewritten from end
// to end breaks at every line.
const MaxBreaks = 1000

// Break is one place where a trail's chain does not hold.
type Break struct {
	Line   int    // the line in the trail, from 1; 0 for the trail as a whole
	Seq    uint64 // the entry's sequence number; 0 when it could not be read
	Reason string // what does not hold, in words
}

func (b Break) String() string {
	switch {
	case b.Line == 0:
		return b.Reason
	case b.Seq == 0:
		return fmt.Sprintf("line %d: %s", b.Line, b.Reason)
	}
	return fmt.Sprintf("line %d (seq %d): %s", b.Line, b.Seq, b.Reason)
}

// Head names one entry of a trail: the head Log.Head returned at some
// moment, or the one the store kept with its follower's last step.
type Head struct {
	Seq  uint64 // 0: any entry with Hash
	Hash string
}

// ExpectedHead is what VerifyThrough found of the head it was given.
type ExpectedHead int

const (
	// NoHead: no head was given.
	NoHead ExpectedHead = iota
	// HeadFound: the chain runs through the head.
	HeadFound
	// HeadPruned: retention has removed the head's entry since, so
	// there is nothing left to compare.
	HeadPruned
	// HeadMissing: the chain does not run through the head; the trail
	// was cut off or replaced. It is one of the Breaks.
	HeadMissing
)

// VerifyFile checks the chain of the trail at path: every entry's hash,
// every link to its predecessor, consecutive sequence numbers, and — when
// the first entry is not the genesis — that the trail records the pruning
// that removed the ones before it. Every break is listed in the Result
// (each entry is checked against the one before it as written, so one
// changed entry is one break); the error, ErrTampered, names the first.
func VerifyFile(path string) (Result, error) {
	return VerifyFileThrough(path, Head{})
}

// VerifyFileThrough is VerifyFile that also requires the chain to run
// through want; see VerifyThrough.
func VerifyFileThrough(path string, want Head) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	return VerifyThrough(f, want)
}

// VerifyReader checks the chain of a trail read from r (a copy, a backup,
// a pipe); see VerifyFile.
func VerifyReader(rd io.Reader) (Result, error) {
	return VerifyThrough(rd, Head{})
}

// VerifyThrough checks the chain of the trail read from rd, as
// VerifyReader does, and that it runs through want, a head recorded
// outside the trail: a trail that ends before it was cut off, one that
// holds another entry there was replaced. A zero want checks nothing more.
func VerifyThrough(rd io.Reader, want Head) (Result, error) {
	var r Result
	add := func(b Break) {
		if len(r.Breaks) < MaxBreaks {
			r.Breaks = append(r.Breaks, b)
		} else {
			r.Unlisted++
		}
	}
	prev := Genesis
	var prunedTo uint64 // the first seq kept, as recorded by the last pruned entry
	// lost is set after an unreadable line: the next entry cannot be
	// linked to it, and is not reported for that a second time.
	lost := false
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			add(Break{Line: line, Reason: "unreadable entry"})
			lost = true
			continue
		}
		switch {
		case e.Hash != e.hash():
			add(Break{line, e.Seq, "the entry does not match its hash"})
		case r.Entries == 0 && e.Seq == 1 && e.Prev != Genesis:
			add(Break{line, e.Seq, "the first entry does not start the chain"})
		case r.Entries > 0 && !lost && e.Seq != r.Last+1:
			add(Break{line, e.Seq, fmt.Sprintf("seq %d follows %d", e.Seq, r.Last)})
		case r.Entries > 0 && !lost && e.Prev != prev:
			add(Break{line, e.Seq, "the link to the previous entry is broken"})
		}
		lost = false
		if r.Entries == 0 {
			r.First = e.Seq
		}
		if e.Action == Pruned {
			var n uint64
			if _, err := fmt.Sscanf(e.Detail, "first kept %d", &n); err == nil {
				prunedTo = n
			}
		}
		if want.Hash != "" && r.Expected != HeadFound && e.Hash == want.Hash && (want.Seq == 0 || e.Seq == want.Seq) {
			r.Expected = HeadFound
		}
		r.Entries++
		r.Last, prev = e.Seq, e.Hash
	}
	if err := sc.Err(); err != nil {
		add(Break{Line: line + 1, Reason: err.Error()})
	}
	if r.Entries > 0 && r.First > 1 && prunedTo != r.First {
		add(Break{Reason: fmt.Sprintf("the trail starts at seq %d but records no pruning up to it: entries were removed", r.First)})
	}
	if want.Hash != "" && r.Expected != HeadFound {
		switch {
		case want.Seq > 0 && r.Entries > 0 && want.Seq < r.First && prunedTo == r.First:
			r.Expected = HeadPruned
		case want.Seq > r.Last || r.Entries == 0:
			r.Expected = HeadMissing
			add(Break{Reason: fmt.Sprintf("the trail ends at seq %d, before the expected head (seq %d): it was cut off, deleted or replaced", r.Last, want.Seq)})
		case want.Seq == 0:
			r.Expected = HeadMissing
			add(Break{Reason: "the chain does not run through the expected head: the trail was cut off or replaced"})
		default:
			r.Expected = HeadMissing
			add(Break{Reason: "the chain does not run through the expected head: the trail was replaced"})
		}
	}
	r.Head = prev
	if n := len(r.Breaks); n > 0 {
		if more := n - 1 + r.Unlisted; more > 0 {
			return r, fmt.Errorf("%s (and %d more): %w", r.Breaks[0], more, ErrTampered)
		}
		return r, fmt.Errorf("%s: %w", r.Breaks[0], ErrTampered)
	}
	return r, nil
}

// Prune removes the entries older than the retention period and records
// that it did, as an entry of its own naming the first entry kept. It
// rewrites the file (a new file renamed over the old one), holding appends
// back while it does; run it rarely, e.g. daily.
func (l *Log) Prune(ctx context.Context) (int, error) {
	if l.cfg.Retention < 0 {
		return 0, nil
	}
	cutoff := l.cfg.Now().Add(-l.cfg.Retention)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	removed, first, err := l.rewrite(ctx, cutoff)
	l.mu.Unlock()
	if err != nil || removed == 0 {
		return removed, err
	}
	if _, err := l.Append(ctx, Entry{Principal: "knooppunt", Action: Pruned, Detail: fmt.Sprintf("first kept %d", first)}); err != nil {
		return removed, err
	}
	l.cfg.Logger.Info().Int("removed", removed).Uint64("first_kept", first).Msg("audit trail pruned")
	return removed, nil
}

// rewrite copies the entries at or after cutoff to a new file and renames
// it over the trail; l.mu is held. It returns the number removed and the
// seq of the first entry kept (the next seq if none is kept).
func (l *Log) rewrite(ctx context.Context, cutoff time.Time) (int, uint64, error) {
	if err := l.f.Sync(); err != nil {
		return 0, 0, fmt.Errorf("pruning the audit trail: %w", err)
	}
	tmp := l.path + ".prune"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, store.FileMode)
	if err != nil {
		return 0, 0, fmt.Errorf("pruning the audit trail: %w", err)
	}
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	// The copy replaces the trail: 0600 whatever the umask, and whatever
	// mode a copy left by an interrupted pruning had.
	if err := out.Chmod(store.FileMode); err != nil {
		out.Close()
		return 0, 0, fmt.Errorf("pruning the audit trail: %w", err)
	}
	w := bufio.NewWriter(out)
	removed, first := 0, uint64(0)
	err = scan(l.path, func(e *Entry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Time.Before(cutoff) && first == 0 {
			removed++
			return nil
		}
		if first == 0 {
			first = e.Seq
		}
		line, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = w.Write(append(line, '\n'))
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, fmt.Errorf("pruning the audit trail: %w", err)
	}
	if removed == 0 {
		return 0, 0, nil
	}
	if first == 0 {
		first = l.seq + 1
	}
	if err := os.Rename(tmp, l.path); err != nil {
		return 0, 0, fmt.Errorf("pruning the audit trail: %w", err)
	}
	if d, err := os.Open(l.cfg.Dir); err == nil {
		d.Sync() // make the rename durable; best effort where unsupported
		d.Close()
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, 0, fmt.Errorf("pruning the audit trail: reopening: %w", err)
	}
	l.f.Close()
	l.f = f
	l.size = 0
	if fi, err := f.Stat(); err == nil {
		l.size = fi.Size()
	}
	return removed, first, nil
}

// Verify checks the trail in dir; see VerifyFile.
func Verify(dir string) (Result, error) {
	return VerifyFile(filepath.Join(dir, FileName))
}

var _ io.Closer = (*Log)(nil)

// openPrivate opens path with flag, creating it with mode store.FileMode
// (whatever the umask) if it does not exist; an existing file keeps its
// mode.
func openPrivate(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|os.O_CREATE|os.O_EXCL, store.FileMode)
	if errors.Is(err, fs.ErrExist) {
		return os.OpenFile(path, flag, 0)
	}
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(store.FileMode); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
