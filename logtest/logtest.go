// Package logtest captures the log lines of code under test: the code logs
// from its own goroutines while the test reads what it wrote.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer is a log sink that writers on many goroutines and a reading test
// may use at once. Its zero value is empty and ready.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
