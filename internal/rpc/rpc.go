package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/reqctx"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
)

// EnvelopeVersion is the version of the wire format this package speaks.
const EnvelopeVersion = 1

// DefaultAPIVersion is the RPC API version requests carry when the caller
// names none.
const DefaultAPIVersion = "1.0"

// timeFormat is how the envelope writes times: UTC to the millisecond.
// Formatting truncates, so a deadline written this way is never later
// than the one it was taken from.
const timeFormat = "2006-01-02T15:04:05.000Z"

// request is a call, cast or fanout on the wire.
type request struct {
	V       int             `json:"v"`
	Version string          `json:"version,omitempty"`
	Method  string          `json:"method"`
	Args    json.RawMessage `json:"args"`
	MsgID   string          `json:"msg_id,omitempty"`
	SentAt  string          `json:"sent_at,omitempty"`
	// RequestID is the caller's request id, as oslo.messaging carries
	// oslo.context's request_id with every message.
	RequestID string `json:"request_id,omitempty"`
	// Deadline is when the caller of a call stops waiting for the reply.
	Deadline string `json:"deadline,omitempty"`
}

// reply answers a call.
type reply struct {
	V       int             `json:"v"`
	Result  json.RawMessage `json:"result,omitempty"`
	Failure *RemoteError    `json:"failure,omitempty"`
}

// RemoteError is a handler's error as the caller receives it, like
// oslo.messaging's RemoteError: the remote error's type (a Neutron
// exception name such as "NetworkNotFound", or the handler's own) and its
// message.
type RemoteError struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func (e *RemoteError) Error() string { return "remote error: " + e.Type + ": " + e.Message }

// Remote returns a *RemoteError of the given type, for handlers that
// want to name the type the caller sees.
func Remote(typ, format string, args ...any) *RemoteError {
	return &RemoteError{Type: typ, Message: fmt.Sprintf(format, args...)}
}

// IsRemote reports whether err is a remote error of type typ.
func IsRemote(err error, typ string) bool {
	var re *RemoteError
	return errors.As(err, &re) && re.Type == typ
}

// TimeoutError is a Call that got no reply in time, like oslo.messaging's
// MessagingTimeout.
type TimeoutError struct {
	Topic, Method string
	After         time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s waiting for a reply to %s on topic %s", e.After, e.Method, e.Topic)
}

// ErrNoConsumer means nobody serves the topic a Call went to.
var ErrNoConsumer = errors.New("no consumer for topic")

// remoteOf converts a handler's error for the wire.
func remoteOf(err error) *RemoteError {
	var re *RemoteError
	if errors.As(err, &re) {
		return re
	}
	if fe, ok := fault.As(err); ok {
		return &RemoteError{Type: fe.Type, Message: fe.Message}
	}
	return &RemoteError{Type: "RemoteError", Message: err.Error()}
}

func (b *Bus) subject(topic string) string       { return b.prefix + topic }
func (b *Bus) fanoutSubject(topic string) string { return b.prefix + "fanout." + topic }

// encodeRequest builds a request carrying ctx's request id and, for a
// call, the deadline by which the caller stops waiting (zero for casts).
func encodeRequest(ctx context.Context, method string, args any, deadline time.Time) ([]byte, error) {
	raw, err := marshalArgs(args)
	if err != nil {
		return nil, fmt.Errorf("encode %s arguments: %w", method, err)
	}
	req := request{V: EnvelopeVersion, Version: DefaultAPIVersion, Method: method, Args: raw,
		MsgID: uuid.NewString(), SentAt: time.Now().UTC().Format(timeFormat), RequestID: reqctx.RequestID(ctx)}
	if !deadline.IsZero() {
		req.Deadline = deadline.UTC().Format(timeFormat)
	}
	return json.Marshal(req)
}

func marshalArgs(args any) (json.RawMessage, error) {
	switch a := args.(type) {
	case nil:
		return json.RawMessage("{}"), nil
	case json.RawMessage:
		if len(a) == 0 {
			return json.RawMessage("{}"), nil
		}
		return a, nil
	}
	return json.Marshal(args)
}

// Call sends method(args) to one consumer of topic and decodes its result
// into result (unless nil). It waits up to the bus timeout (or ctx's
// deadline, if sooner); a handler's error comes back as *RemoteError, no
// reply in time as *TimeoutError. The request carries ctx's request id
// (reqctx) and that deadline, so the handler runs with both.
func (b *Bus) Call(ctx context.Context, topic, method string, args, result any) (err error) {
	start := time.Now()
	defer func() { observeCall(method, start, err) }()
	timeout := b.timeout
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
		timeout = time.Until(dl)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	deadline, _ := cctx.Deadline()
	data, err := encodeRequest(ctx, method, args, deadline)
	if err != nil {
		return err
	}
	msg, err := b.nc.RequestWithContext(cctx, b.subject(topic), data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("call %s on topic %s: %w", method, topic, ErrNoConsumer)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("call %s on topic %s: %w", method, topic, ctx.Err())
		}
		return &TimeoutError{Topic: topic, Method: method, After: timeout.Round(time.Millisecond)}
	case err != nil:
		return fmt.Errorf("call %s on topic %s: %w", method, topic, err)
	}
	var rep reply
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return fmt.Errorf("call %s on topic %s: decode reply: %w", method, topic, err)
	}
	if rep.Failure != nil {
		return rep.Failure
	}
	if result != nil && len(rep.Result) > 0 {
		if err := json.Unmarshal(rep.Result, result); err != nil {
			return fmt.Errorf("call %s on topic %s: decode result: %w", method, topic, err)
		}
	}
	return nil
}

// Cast sends method(args) to one consumer of topic without waiting. The
// request carries ctx's request id but no deadline: nobody waits for it.
func (b *Bus) Cast(ctx context.Context, topic, method string, args any) error {
	data, err := encodeRequest(ctx, method, args, time.Time{})
	if err != nil {
		return err
	}
	if err := b.nc.Publish(b.subject(topic), data); err != nil {
		return fmt.Errorf("cast %s to topic %s: %w", method, topic, err)
	}
	sent.WithLabelValues(method, "cast").Inc()
	return nil
}

// Fanout sends method(args) to every consumer of topic, with ctx's
// request id.
func (b *Bus) Fanout(ctx context.Context, topic, method string, args any) error {
	data, err := encodeRequest(ctx, method, args, time.Time{})
	if err != nil {
		return err
	}
	if err := b.nc.Publish(b.fanoutSubject(topic), data); err != nil {
		return fmt.Errorf("fanout %s to topic %s: %w", method, topic, err)
	}
	sent.WithLabelValues(method, "fanout").Inc()
	return nil
}

// HandlerFunc serves one method: it gets the request's args and returns
// the result (marshalled to JSON for a call; ignored for casts). Its ctx
// carries the caller's request id (reqctx.RequestID; a new "req-<uuid>"
// when the caller sent none) and, for a call, the caller's deadline.
type HandlerFunc func(ctx context.Context, args json.RawMessage) (any, error)

// Handlers maps method names to their handlers.
type Handlers map[string]HandlerFunc

// Serve consumes topic: calls and casts reach one of the topic's
// consumers (a queue group), fanouts every consumer. Calls run
// concurrently, up to the bus's Workers at once, so a slow call does not
// hold up the topic (a thousand agents' report_state) and a burst queues
// instead of piling onto the database; casts and fanouts run one at a
// time in the order they were sent, so an agent sees a port's updates in
// order. A method without a handler answers a "NoSuchMethod" remote
// error, as oslo.messaging's dispatcher does.
func (b *Bus) Serve(topic string, handlers Handlers) error {
	sem := make(chan struct{}, b.workers)
	h := func(m *nats.Msg) {
		if m.Reply == "" {
			b.dispatch(topic, handlers, m)
			return
		}
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			b.dispatch(topic, handlers, m)
		}()
	}
	direct, err := b.nc.QueueSubscribe(b.subject(topic), topic, h)
	if err != nil {
		return fmt.Errorf("serve topic %s: %w", topic, err)
	}
	fan, err := b.nc.Subscribe(b.fanoutSubject(topic), h)
	if err != nil {
		direct.Unsubscribe()
		return fmt.Errorf("serve topic %s (fanout): %w", topic, err)
	}
	for _, s := range []*nats.Subscription{direct, fan} {
		// Bursts (a thousand agents' heartbeats) must queue, not drop.
		s.SetPendingLimits(-1, -1)
	}
	// The server must know of the subscriptions before Serve returns, or
	// a request sent right after could find no consumer.
	if err := b.nc.Flush(); err != nil {
		return fmt.Errorf("serve topic %s: %w", topic, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		direct.Unsubscribe()
		fan.Unsubscribe()
		return errors.New("serve topic " + topic + ": bus closed")
	}
	b.subs = append(b.subs, direct, fan)
	return nil
}

func (b *Bus) dispatch(topic string, handlers Handlers, m *nats.Msg) {
	start := time.Now()
	call := m.Reply != ""
	var req request
	ctx := context.Background()
	result, err := func() (res any, err error) {
		defer func() {
			if r := recover(); r != nil {
				b.log.ErrorContext(ctx, "RPC handler panicked", "topic", topic, "method", req.Method, "panic", r, "stack", string(debug.Stack()))
				err = Remote("InternalError", "%s on topic %s failed: %v", req.Method, topic, r)
			}
		}()
		uerr := json.Unmarshal(m.Data, &req)
		var cancel context.CancelFunc
		ctx, cancel = b.handlerContext(&req, call, start)
		defer cancel()
		if uerr != nil {
			return nil, Remote("MalformedMessage", "cannot decode request on topic %s: %v", topic, uerr)
		}
		if req.V != EnvelopeVersion {
			return nil, Remote("UnsupportedEnvelope", "envelope version %d is not supported (want %d)", req.V, EnvelopeVersion)
		}
		fn := handlers[req.Method]
		if fn == nil {
			return nil, Remote("NoSuchMethod", "endpoint does not support RPC method %s on topic %s", req.Method, topic)
		}
		if dl, ok := ctx.Deadline(); ok && !start.Before(dl) {
			// The caller has given up (a backlog, or clocks far apart):
			// serving it would only lengthen the backlog, as RabbitMQ's
			// expiry of a call's message spares oslo.messaging's servers.
			b.log.WarnContext(ctx, "dropping an RPC call that arrived after its caller's deadline",
				"topic", topic, "method", req.Method, "late", start.Sub(dl).Round(time.Millisecond), "sent_at", req.SentAt)
			return nil, Remote("MessagingTimeout", "%s on topic %s arrived %s after its deadline", req.Method, topic, start.Sub(dl).Round(time.Millisecond))
		}
		return fn(ctx, req.Args)
	}()
	observeHandled(req.Method, handlers[req.Method] != nil, call, start, err)
	if !call {
		if err != nil {
			b.log.WarnContext(ctx, "RPC cast failed", "topic", topic, "method", req.Method, "error", err)
		} else {
			b.log.DebugContext(ctx, "RPC cast served", "topic", topic, "method", req.Method, "took", time.Since(start))
		}
		return
	}
	var rep reply
	rep.V = EnvelopeVersion
	if err != nil {
		rep.Failure = remoteOf(err)
	} else if result != nil {
		raw, merr := marshalArgs(result)
		if merr != nil {
			rep.Failure = Remote("MalformedResult", "cannot encode the result of %s: %v", req.Method, merr)
		} else {
			rep.Result = raw
		}
	}
	if rep.Failure != nil {
		b.log.DebugContext(ctx, "RPC call served", "topic", topic, "method", req.Method, "took", time.Since(start),
			"failure", rep.Failure.Type)
	} else {
		b.log.DebugContext(ctx, "RPC call served", "topic", topic, "method", req.Method, "took", time.Since(start))
	}
	data, _ := json.Marshal(rep)
	if err := m.Respond(data); err != nil {
		b.log.WarnContext(ctx, "RPC reply failed", "topic", topic, "method", req.Method, "error", err)
	}
}

// handlerContext is the context a handler of req runs with: the caller's
// request id, or a new one as oslo.context makes for a request that has
// none; and, for a call, the caller's deadline.
func (b *Bus) handlerContext(req *request, call bool, now time.Time) (context.Context, context.CancelFunc) {
	id := req.RequestID
	if id == "" {
		id = reqctx.NewRequestID()
	}
	ctx := reqctx.WithRequestID(context.Background(), id)
	if !call {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, b.callDeadline(req, now))
}

// callDeadline is when the caller of req stops waiting, by this host's
// clock, from the request's deadline: never later than the time the
// caller had left when it sent the request, counted from now, so a
// caller's clock running ahead of ours cannot stretch it. A request
// without a deadline (an older caller) gets this bus's timeout, which
// server and agents share ([DEFAULT] rpc_response_timeout).
func (b *Bus) callDeadline(req *request, now time.Time) time.Time {
	limit := now.Add(b.timeout)
	dl, err := time.Parse(time.RFC3339Nano, req.Deadline)
	if err != nil {
		return limit
	}
	if sent, err := time.Parse(time.RFC3339Nano, req.SentAt); err == nil && dl.After(sent) {
		limit = now.Add(dl.Sub(sent))
	}
	if dl.After(limit) {
		return limit
	}
	return dl
}

// Send publishes a notification as a cast or fanout, with the
// notification's own API version. It does not wait: Flush confirms the
// server has it.
func (b *Bus) Send(n rpcapi.Notification) error {
	args, err := marshalArgs(n.Args)
	if err != nil {
		return fmt.Errorf("encode %s notification: %w", n.Method, err)
	}
	v := n.Version
	if v == "" {
		v = DefaultAPIVersion
	}
	data, err := json.Marshal(request{V: EnvelopeVersion, Version: v, Method: n.Method, Args: args,
		MsgID: uuid.NewString(), SentAt: time.Now().UTC().Format(timeFormat)})
	if err != nil {
		return fmt.Errorf("encode %s notification: %w", n.Method, err)
	}
	subj := b.subject(n.Topic)
	if n.Fanout {
		subj = b.fanoutSubject(n.Topic)
	}
	if err := b.nc.Publish(subj, data); err != nil {
		return fmt.Errorf("send %s to topic %s: %w", n.Method, n.Topic, err)
	}
	kind := "cast"
	if n.Fanout {
		kind = "fanout"
	}
	sent.WithLabelValues(n.Method, kind).Inc()
	return nil
}
