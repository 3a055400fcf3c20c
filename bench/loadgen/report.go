package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
)

// Status values of a report line.
const (
	statusOK          = "ok"
	statusUnsupported = "unsupported"
	statusFailed      = "failed"
)

// Result is one JSON line of output. The embedded Summary is omitted when
// nothing was measured (an unsupported scenario, or a failed setup); the
// scenario-specific extras are omitted when they do not apply.
type Result struct {
	Scenario    string `json:"scenario"`
	Concurrency int    `json:"concurrency,omitempty"`
	*Summary
	Items        *int   `json:"items,omitempty"`
	Bytes        *int64 `json:"bytes,omitempty"`
	Pages        *int   `json:"pages,omitempty"`
	Prepopulated *int   `json:"prepopulated,omitempty"`
	Status       string `json:"status"`
	Error        string `json:"error,omitempty"`
	FirstError   string `json:"first_error,omitempty"`
}

// newResult builds the report line of a measured run. The run is "failed"
// if it was interrupted or if every operation failed.
func newResult(scenario string, concurrency int, m measurement) Result {
	s := summarize(m)
	r := Result{Scenario: scenario, Concurrency: concurrency, Summary: &s, Status: statusOK}
	if m.firstErr != nil {
		r.FirstError = m.firstErr.Error()
	}
	switch {
	case m.interrupted:
		r.fail("interrupted")
	case m.ops > 0 && m.errors == m.ops:
		r.fail(fmt.Sprintf("all %d operations failed", m.ops))
	}
	return r
}

// fail marks r as failed with the given reason, keeping the first one.
func (r *Result) fail(reason string) {
	if r.Status == statusFailed {
		return
	}
	r.Status = statusFailed
	r.Error = reason
}

// reporter writes Results as JSON lines. It is safe for concurrent use.
type reporter struct {
	mu       sync.Mutex
	enc      *json.Encoder
	failed   int
	writeErr error
}

// newReporter returns a reporter writing to w.
func newReporter(w io.Writer) *reporter {
	return &reporter{enc: json.NewEncoder(w)}
}

// emit writes r as one line. A write error is remembered and reported by err.
func (p *reporter) emit(r Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Status == statusFailed {
		p.failed++
	}
	if err := p.enc.Encode(r); err != nil && p.writeErr == nil {
		p.writeErr = err
	}
}

// failures returns how many failed lines were emitted.
func (p *reporter) failures() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// err returns the first error met while writing, if any.
func (p *reporter) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writeErr
}
