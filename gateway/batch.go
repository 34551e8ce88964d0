package gateway

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/knooppunt/knooppunt/audit"
)

// BatchResult is the answer of POST /v1/berichten/batch: one result per
// message, in the order of the ZIP.
type BatchResult struct {
	Accepted int            `json:"accepted"`
	Rejected int            `json:"rejected"`
	Results  []BatchOutcome `json:"results"`
}

// BatchOutcome is the result of one message of a batch: the status and
// body it would have had when posted alone.
type BatchOutcome struct {
	// Name is the entry's file name, or "#n" for the n-th entry when its
	// name is empty or has characters other than letters, digits, '-',
	// '_' and '.'.
	Name string `json:"name"`
	// Status is the HTTP status the message would have had alone.
	Status int `json:"status"`
	// Result is "stored", "duplicate" or "rejected".
	Result string `json:"result"`
	// For stored and duplicate messages (and the original id of a
	// conflict):
	ID           string `json:"id,omitempty"`
	Berichtsoort string `json:"berichtsoort,omitempty"`
	Ontvanger    string `json:"ontvanger,omitempty"`
	// For rejected messages:
	Code       string      `json:"code,omitempty"`
	Message    string      `json:"message,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
}

// batchEntry is one message read from a ZIP, or the refusal of an entry
// that is not read at all.
type batchEntry struct {
	name    string
	body    []byte
	refusal *Error // set: body is nil and the entry is answered with it
}

// maxZipEntries bounds the entries (directories included) a ZIP may list,
// so a central directory of millions of empty entries costs nothing.
const maxZipEntries = 1024

// readBatch reads the messages out of a ZIP. It trusts none of the sizes
// the archive declares: the bytes actually inflated are counted, and the
// total across entries may not exceed maxTotal (a zip bomb stops there).
func readBatch(zipped []byte, maxMessages int, maxTotal int64) ([]batchEntry, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		return nil, errorf(KindMalformed, CodeBatchNotZip, "the body is not a readable ZIP archive")
	}
	if len(zr.File) > maxZipEntries {
		return nil, errorf(KindMalformed, CodeBatchTooMany, "the archive lists %d entries; at most %d messages are allowed", len(zr.File), maxMessages)
	}
	var files []*zip.File
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || strings.HasSuffix(f.Name, "/") {
			continue
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, errorf(KindMalformed, CodeBatchNotZip, "the archive holds no messages")
	}
	if len(files) > maxMessages {
		return nil, errorf(KindMalformed, CodeBatchTooMany, "the archive holds %d messages; at most %d are allowed", len(files), maxMessages)
	}
	remaining := maxTotal
	entries := make([]batchEntry, 0, len(files))
	for i, f := range files {
		if e := unreadableEntry(f); e != nil {
			entries = append(entries, batchEntry{name: entryName(f.Name, i), refusal: e})
			continue
		}
		if f.UncompressedSize64 > uint64(remaining) {
			return nil, errorf(KindTooLarge, CodeBatchTooLarge, "the messages unpack to more than %d bytes", maxTotal)
		}
		body, err := inflate(f, remaining)
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				return nil, e
			}
			return nil, errorf(KindMalformed, CodeBatchEntryUnreadable, "entry %d of the archive cannot be unpacked", i+1)
		}
		remaining -= int64(len(body))
		entries = append(entries, batchEntry{name: entryName(f.Name, i), body: body})
	}
	return entries, nil
}

// zipFlagEncrypted is general purpose bit 0 of a ZIP entry: its data is
// encrypted (APPNOTE.TXT 4.4.4).
const zipFlagEncrypted = 0x1

// unreadableEntry refuses an entry the switch will not unpack: an encrypted
// one (it has no password, and archive/zip would hand out the ciphertext as
// the message) or one compressed with a method other than stored or deflate.
// Such an entry is answered on its own; the others of the batch go on.
func unreadableEntry(f *zip.File) *Error {
	switch {
	case f.Flags&zipFlagEncrypted != 0:
		return errorf(KindMalformed, CodeZipEntryEncrypted, "the entry is encrypted; send it unencrypted")
	case f.Method != zip.Store && f.Method != zip.Deflate:
		return errorf(KindMalformed, CodeZipEntryMethod, "the entry is compressed with method %d; only stored (0) and deflate (8) are accepted", f.Method)
	}
	return nil
}

// inflate unpacks one entry, reading at most limit bytes.
func inflate(f *zip.File, limit int64) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("opening entry: %w", err)
	}
	defer rc.Close()
	size := f.UncompressedSize64
	if size > 1<<20 {
		size = 1 << 20 // grow past a declared size only as bytes arrive
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	n, err := io.Copy(buf, io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, fmt.Errorf("inflating entry: %w", err)
	}
	if n > limit {
		return nil, errorf(KindTooLarge, CodeBatchTooLarge, "the messages unpack to more than the limit")
	}
	return buf.Bytes(), nil
}

// entryName is the name an entry is reported under: its base name, or its
// position when the name is empty or unsafe to echo.
func entryName(name string, i int) string {
	if j := strings.LastIndexAny(name, `/\`); j >= 0 {
		name = name[j+1:]
	}
	if name == "" || len(name) > 255 || !safeToken(name) {
		return fmt.Sprintf("#%d", i+1)
	}
	return name
}

// postBatch is POST /v1/berichten/batch: every message of a ZIP through the
// same pipeline as a single post, each with its own result.
func (s *Server) postBatch(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := contentType(r, "application/zip", "application/x-zip-compressed"); err != nil {
		return err
	}
	zipped, err := s.readBody(w, r)
	if err != nil {
		return err
	}
	entries, err := readBatch(zipped, s.cfg.MaxBatchMessages, s.cfg.MaxBodyBytes)
	if err != nil {
		return err
	}
	out := BatchResult{Results: make([]BatchOutcome, len(entries))}
	// Every message received gets a record of its own, with its id: in
	// the store's commit with the message where the store keeps one, else
	// appended here, together, before the answer leaves.
	var records []audit.Entry
	for i, e := range entries {
		res := BatchOutcome{Name: e.name}
		var a Accepted
		var err error
		if e.refusal != nil {
			s.metrics.berichten.WithLabelValues(unknownSoort, e.refusal.Code).Inc()
			err = e.refusal
		} else {
			erq := &request{received: rq.received}
			a, err = s.ingest(r.Context(), rq.principal, e.body, rq.start, erq)
			if err == nil && rq.received != nil && !erq.recorded {
				rec := *rq.received
				rec.MessageID, rec.Time = a.ID, s.cfg.Now()
				records = append(records, rec)
			}
		}
		if err != nil {
			ee := asError(err)
			if ee.Kind == KindInternal {
				s.log.Error().Str("request_id", rq.id).Str("entry", e.name).AnErr("cause", ee.Err).Msg("batch entry failed")
			}
			res.Status, res.Result = ee.Kind.Status(), "rejected"
			res.ID, res.Code, res.Message, res.Violations = ee.ID, ee.Code, ee.Message, ee.Violations
			out.Rejected++
		} else {
			res.Status, res.Result = http.StatusAccepted, a.Status
			res.ID, res.Berichtsoort, res.Ontvanger = a.ID, a.Berichtsoort, a.Ontvanger
			if a.Status == statusDuplicate {
				res.Status = http.StatusOK
			}
			out.Accepted++
		}
		out.Results[i] = res
	}
	if rq.received != nil {
		if len(records) > 0 {
			if err := s.cfg.Audit.AppendAll(context.WithoutCancel(r.Context()), records); err != nil {
				return &Error{Kind: KindUnavailable, Code: CodeAuditUnavailable, Err: err,
					Message: "the messages could not be recorded in the audit trail; resend the batch later (resends are not delivered twice)"}
			}
		}
		rq.recorded = true // each has its own record; the guard adds none for the batch
	}
	rq.count = len(entries)
	s.writeJSON(w, rq, http.StatusOK, out)
	return nil
}
