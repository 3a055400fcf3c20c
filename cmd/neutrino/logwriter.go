package main

import (
	"io"
	"sync"
	"time"
)

// lineWriter gathers log lines and writes them to w together, at most
// flushDelay after the first of them, or at once when flushSize bytes
// wait. A server answering thousands of requests a second logs a line
// for each; a write system call per line was a twentieth of a show's
// CPU. Lines keep their order. Call Flush before the process exits.
type lineWriter struct {
	w     io.Writer
	delay time.Duration
	size  int

	// wmu serializes writes to w, so that buffers go out in the order
	// they were taken.
	wmu sync.Mutex

	mu        sync.Mutex
	buf       []byte
	spare     []byte
	scheduled bool
	err       error
}

// flushDelay bounds how long a log line waits to be written.
const flushDelay = 5 * time.Millisecond

// flushSize is how many bytes are written without waiting further.
const flushSize = 32 << 10

func newLineWriter(w io.Writer) *lineWriter {
	return &lineWriter{w: w, delay: flushDelay, size: flushSize}
}

// Write queues p; it reports the error of an earlier write that failed.
func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.buf = append(l.buf, p...)
	full := len(l.buf) >= l.size
	if !full && !l.scheduled {
		l.scheduled = true
		time.AfterFunc(l.delay, l.flushScheduled)
	}
	err := l.err
	l.err = nil
	l.mu.Unlock()
	if full {
		l.Flush()
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

func (l *lineWriter) flushScheduled() {
	l.mu.Lock()
	l.scheduled = false
	l.mu.Unlock()
	l.Flush()
}

// Flush writes every queued line.
func (l *lineWriter) Flush() {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.mu.Lock()
	out := l.buf
	if len(out) == 0 {
		l.mu.Unlock()
		return
	}
	// The spare buffer, written out by the last Flush, takes the lines
	// that come while out is written.
	l.buf, l.spare = l.spare[:0], nil
	l.mu.Unlock()
	_, err := l.w.Write(out)
	l.mu.Lock()
	if err != nil && l.err == nil {
		l.err = err
	}
	if cap(out) <= 4*flushSize {
		l.spare = out[:0]
	} else {
		l.spare = nil
	}
	l.mu.Unlock()
}
