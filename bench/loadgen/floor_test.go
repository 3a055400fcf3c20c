package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
)

// TestPortShowAgainstFloor drives port-show against the floor server: the
// scenario finds the one port the floor lists and shows it at each level.
func TestPortShowAgainstFloor(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- serveFloor(ctx, "127.0.0.1:0", nil, func(a net.Addr) { addr <- a }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var out, errs bytes.Buffer
	endpoint := "http://" + (<-addr).String()
	if err := run([]string{"-endpoint", endpoint, "-scenarios", "port-show", "-n", "30", "-concurrency", "1,4"}, &out, &errs); err != nil {
		t.Fatalf("run: %v\n%s", err, errs.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 result lines, got %q", out.String())
	}
	for i, l := range lines {
		var r Result
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.Scenario != scPortShow || r.Status != "ok" || r.Ops != 30 || r.Errors != 0 || r.Concurrency != []int{1, 4}[i] {
			t.Errorf("result %d: %s", i, l)
		}
	}
}

// TestPortListAgainstFloor: given a listing, the floor answers every
// listing with exactly those bytes, which port-list-full counts.
func TestPortListAgainstFloor(t *testing.T) {
	list := []byte(`{"ports":[` + floorPort + `,` + floorPort + `,` + floorPort + `]}`)
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- serveFloor(ctx, "127.0.0.1:0", list, func(a net.Addr) { addr <- a }) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	var out, errs bytes.Buffer
	endpoint := "http://" + (<-addr).String()
	if err := run([]string{"-endpoint", endpoint, "-scenarios", "port-list-full", "-n", "5", "-concurrency", "2"}, &out, &errs); err != nil {
		t.Fatalf("run: %v\n%s", err, errs.String())
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if r.Scenario != scPortListFull || r.Status != "ok" || r.Ops != 5 || r.Errors != 0 || r.Items == nil || *r.Items != 3 || r.Bytes == nil || *r.Bytes != int64(len(list)) {
		t.Errorf("result: %s", out.String())
	}
}
