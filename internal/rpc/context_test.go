package rpc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpctest"
)

// seen is what a handler found in its context.
type seen struct {
	id          string
	deadline    time.Time
	hasDeadline bool
}

// recorder serves "look" on topic, recording each context it is given.
func recorder(t *testing.T, b *rpc.Bus, topic string) <-chan seen {
	t.Helper()
	c := make(chan seen, 8)
	if err := b.Serve(topic, rpc.Handlers{"look": func(ctx context.Context, _ json.RawMessage) (any, error) {
		dl, ok := ctx.Deadline()
		c <- seen{reqctx.RequestID(ctx), dl, ok}
		return nil, nil
	}}); err != nil {
		t.Fatal(err)
	}
	return c
}

func next(t *testing.T, c <-chan seen) seen {
	t.Helper()
	select {
	case s := <-c:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("handler not reached within 5s")
		return seen{}
	}
}

var requestIDPattern = regexp.MustCompile(`^req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestCallCarriesRequestIDAndDeadline(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		srv := tr.Open(t)
		cli := tr.Open(t, func(o *rpc.Options) { o.Timeout = 3 * time.Second })
		got := recorder(t, srv, "q-ctx")

		// The caller's id and its context's deadline, when sooner than the
		// bus timeout.
		ctx := reqctx.WithRequestID(context.Background(), "req-caller-1")
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		callerDL, _ := ctx.Deadline()
		if err := cli.Call(ctx, "q-ctx", "look", nil, nil); err != nil {
			t.Fatal(err)
		}
		s := next(t, got)
		if s.id != "req-caller-1" {
			t.Errorf("handler's request id %q, want the caller's req-caller-1", s.id)
		}
		if !s.hasDeadline {
			t.Fatal("handler's context has no deadline")
		}
		if s.deadline.After(callerDL) {
			t.Errorf("handler's deadline %s is after the caller's %s", s.deadline, callerDL)
		}
		if d := callerDL.Sub(s.deadline); d > 50*time.Millisecond {
			t.Errorf("handler's deadline %s before the caller's, want within the envelope's millisecond", d)
		}

		// Without a context deadline, the bus timeout bounds the call.
		start := time.Now()
		if err := cli.Call(reqctx.WithRequestID(context.Background(), "req-caller-2"), "q-ctx", "look", nil, nil); err != nil {
			t.Fatal(err)
		}
		s = next(t, got)
		if s.id != "req-caller-2" || !s.hasDeadline {
			t.Fatalf("handler saw %+v, want req-caller-2 with a deadline", s)
		}
		if max := time.Now().Add(3 * time.Second); s.deadline.After(max) || s.deadline.Before(start.Add(2*time.Second)) {
			t.Errorf("handler's deadline %s from the call's start, want the 3s bus timeout", s.deadline.Sub(start))
		}

		// A caller without a request id: the handler gets a new one each
		// time, shaped as oslo.context makes them.
		var ids []string
		for range 2 {
			if err := cli.Call(context.Background(), "q-ctx", "look", nil, nil); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, next(t, got).id)
		}
		for _, id := range ids {
			if !requestIDPattern.MatchString(id) {
				t.Errorf("generated request id %q, want req-<uuid>", id)
			}
		}
		if ids[0] == ids[1] {
			t.Errorf("two calls without a request id got the same one, %s", ids[0])
		}

		// Casts and fanouts carry the id but no deadline: nobody waits.
		if err := cli.Cast(reqctx.WithRequestID(ctx, "req-cast"), "q-ctx", "look", nil); err != nil {
			t.Fatal(err)
		}
		if s := next(t, got); s.id != "req-cast" || s.hasDeadline {
			t.Errorf("cast's handler saw %+v, want req-cast without a deadline", s)
		}
		if err := cli.Fanout(reqctx.WithRequestID(ctx, "req-fanout"), "q-ctx", "look", nil); err != nil {
			t.Fatal(err)
		}
		if s := next(t, got); s.id != "req-fanout" || s.hasDeadline {
			t.Errorf("fanout's handler saw %+v, want req-fanout without a deadline", s)
		}
	})
}

func TestHandlerPastItsDeadlineIsCancelled(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		srv := tr.Open(t)
		cli := tr.Open(t, func(o *rpc.Options) { o.Timeout = 200 * time.Millisecond })
		type outcome struct {
			err   error
			after time.Duration
		}
		done := make(chan outcome, 1)
		if err := srv.Serve("q-slow-ctx", rpc.Handlers{"work": func(ctx context.Context, _ json.RawMessage) (any, error) {
			start := time.Now()
			select {
			case <-ctx.Done():
				done <- outcome{ctx.Err(), time.Since(start)}
				return nil, ctx.Err()
			case <-time.After(10 * time.Second):
				done <- outcome{nil, time.Since(start)}
			}
			return nil, nil
		}}); err != nil {
			t.Fatal(err)
		}
		// The handler's deadline is the caller's, truncated to the
		// millisecond: its answer may just beat the caller's timer.
		err := cli.Call(context.Background(), "q-slow-ctx", "work", nil, nil)
		var te *rpc.TimeoutError
		if !errors.As(err, &te) && !rpc.IsRemote(err, "RemoteError") {
			t.Fatalf("call error %v, want *TimeoutError or the handler's failure", err)
		}
		select {
		case o := <-done:
			if !errors.Is(o.err, context.DeadlineExceeded) {
				t.Fatalf("handler's context ended with %v after %s, want DeadlineExceeded", o.err, o.after)
			}
			if o.after > 2*time.Second {
				t.Errorf("handler's context ended %s after it started, want about 200ms", o.after)
			}
		case <-time.After(12 * time.Second):
			t.Fatal("handler never returned")
		}
	})
}

// rawCall sends a hand-made envelope as a call and decodes the reply.
func rawCall(t *testing.T, b *rpc.Bus, topic string, env map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := b.Conn().Request(topic, data, 5*time.Second)
	if err != nil {
		t.Fatalf("raw call: %v", err)
	}
	var rep map[string]any
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		t.Fatalf("decode reply %s: %v", msg.Data, err)
	}
	return rep
}

const wireTime = "2006-01-02T15:04:05.000Z"

func TestEnvelopeContextFields(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		srv := tr.Open(t, func(o *rpc.Options) { o.Timeout = 4 * time.Second })
		cli := tr.Open(t)
		got := recorder(t, srv, "q-wire")
		now := time.Now().UTC()

		// An envelope from before request_id and deadline: served, with a
		// new request id and the consumer's own timeout.
		rep := rawCall(t, cli, "q-wire", map[string]any{"v": 1, "version": "1.0", "method": "look", "args": map[string]any{},
			"msg_id": "m1", "sent_at": now.Format(wireTime)})
		if rep["failure"] != nil {
			t.Fatalf("old envelope refused: %v", rep)
		}
		s := next(t, got)
		if !requestIDPattern.MatchString(s.id) {
			t.Errorf("request id %q for an envelope without one, want a new req-<uuid>", s.id)
		}
		if !s.hasDeadline || s.deadline.After(time.Now().Add(4*time.Second)) || s.deadline.Before(now.Add(3*time.Second)) {
			t.Errorf("deadline %+v for an envelope without one, want the consumer's 4s timeout", s)
		}

		// A caller whose clock runs an hour ahead: its deadline cannot give
		// the handler more than the 1s it had left when it sent the call.
		ahead := now.Add(time.Hour)
		before := time.Now()
		rawCall(t, cli, "q-wire", map[string]any{"v": 1, "method": "look", "args": map[string]any{},
			"sent_at": ahead.Format(wireTime), "deadline": ahead.Add(time.Second).Format(wireTime), "request_id": "req-skewed"})
		s = next(t, got)
		if s.id != "req-skewed" || s.deadline.After(time.Now().Add(time.Second)) || s.deadline.Before(before) {
			t.Errorf("skewed caller: handler saw %+v, want req-skewed and at most 1s", s)
		}

		// A call that arrives after its deadline is not served: its caller
		// has given up.
		rep = rawCall(t, cli, "q-wire", map[string]any{"v": 1, "method": "look", "args": map[string]any{},
			"sent_at": now.Add(-2 * time.Second).Format(wireTime), "deadline": now.Add(-time.Second).Format(wireTime),
			"request_id": "req-late"})
		failure, _ := rep["failure"].(map[string]any)
		if failure["type"] != "MessagingTimeout" {
			t.Errorf("late call answered %v, want a MessagingTimeout failure", rep)
		}
		select {
		case s := <-got:
			t.Errorf("late call reached its handler: %+v", s)
		case <-time.After(100 * time.Millisecond):
		}
	})
}

// logCapture collects JSON log lines; it is safe for concurrent use.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

// logger logs through reqctx.LogHandler, as the neutrino binary does.
func (c *logCapture) logger() *slog.Logger {
	return slog.New(reqctx.LogHandler{Handler: slog.NewJSONHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug})})
}

// lines returns the captured lines whose msg is msg.
func (c *logCapture) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for l := range strings.Lines(c.buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func TestLogLinesOfBothSidesShareTheRequestID(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		var server, agent logCapture
		// The first bus opened owns an embedded server's logger.
		srv := tr.Open(t, func(o *rpc.Options) { o.Logger = server.logger() })
		cli := tr.Open(t)
		slogger := server.logger()
		if err := srv.Serve("q-log", rpc.Handlers{"work": func(ctx context.Context, _ json.RawMessage) (any, error) {
			slogger.InfoContext(ctx, "handler working")
			return nil, nil
		}}); err != nil {
			t.Fatal(err)
		}
		alog := agent.logger()
		for range 2 {
			// One pass: a fresh id, a call, a line.
			ctx := reqctx.WithNewRequestID(context.Background())
			if err := cli.Call(ctx, "q-log", "work", nil, nil); err != nil {
				t.Fatal(err)
			}
			alog.InfoContext(ctx, "pass done")
		}
		passes := agent.lines(t, "pass done")
		handled := server.lines(t, "handler working")
		served := server.lines(t, "RPC call served")
		if len(passes) != 2 || len(handled) != 2 || len(served) != 2 {
			t.Fatalf("%d agent lines, %d handler lines, %d dispatch lines; want 2 of each", len(passes), len(handled), len(served))
		}
		for i := range passes {
			id, _ := passes[i]["request_id"].(string)
			if !requestIDPattern.MatchString(id) {
				t.Fatalf("agent's line %v has no request id", passes[i])
			}
			if handled[i]["request_id"] != id || served[i]["request_id"] != id {
				t.Errorf("pass %d: agent logged %s; server logged %v and %v", i, id, handled[i]["request_id"], served[i]["request_id"])
			}
			if served[i]["method"] != "work" || served[i]["topic"] != "q-log" {
				t.Errorf("dispatch line %v does not name the method and topic", served[i])
			}
		}
		if passes[0]["request_id"] == passes[1]["request_id"] {
			t.Error("two passes logged the same request id")
		}
	})
}
