package gateway

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzReadBatch feeds arbitrary bytes to the ZIP reader: it must never
// panic, never return more than the allowed messages or bytes, and refuse
// with an *Error only.
func FuzzReadBatch(f *testing.F) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"a.xml", "dir/", "b.xml"} {
		w, _ := zw.Create(name)
		w.Write([]byte("<m/>" + strings.Repeat("x", 100)))
	}
	zw.Close()
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	const maxMessages, maxTotal = 3, 1 << 16
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := readBatch(b, maxMessages, maxTotal)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("refusal without a code: %v", err)
			}
			return
		}
		if len(entries) == 0 || len(entries) > maxMessages {
			t.Fatalf("%d entries", len(entries))
		}
		total := 0
		for _, e := range entries {
			total += len(e.body)
			if e.name == "" || !safeToken(strings.TrimPrefix(e.name, "#")) {
				t.Fatalf("unsafe name %q", e.name)
			}
		}
		if total > maxTotal {
			t.Fatalf("unpacked %d bytes, more than %d", total, maxTotal)
		}
	})
}

// FuzzBearer checks the Authorization parser never panics and returns only
// non-empty tokens without blanks.
func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  x", "Basic abc", "Bearer", "Bearer a b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := bearer(h)
		if ok && (tok == "" || strings.ContainsAny(tok, " \t")) {
			t.Fatalf("bearer(%q) = %q", h, tok)
		}
		if !ok && tok != "" {
			t.Fatalf("bearer(%q) refused but returned %q", h, tok)
		}
	})
}
