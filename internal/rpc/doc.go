// Package rpc is the message bus between the Neutrino server and its
// agents, with oslo.messaging's RPC semantics on NATS:
//
//   - Call sends a request to one consumer of a topic and waits for its
//     reply, up to [DEFAULT] rpc_response_timeout; a timeout names the
//     topic and method.
//   - Cast sends a request to one consumer of a topic and does not wait.
//   - Fanout sends a request to every consumer of a topic.
//
// A consumer (Serve) joins the topic's NATS queue group for calls and
// casts, so each reaches exactly one of the topic's consumers, and also
// subscribes to the topic's fanout subject, which every consumer receives.
// A handler's error travels back to a caller as a *RemoteError carrying the
// error's type and message, as oslo.messaging's RemoteError does.
//
// By default the server embeds a NATS server in-process (Open with no
// URLs); [DEFAULT] transport_url = nats://host:4222[,nats://host2:4222]
// points server and agents at an external NATS cluster instead.
//
// # Wire format
//
// Subjects: a call or cast to topic T goes to subject "<prefix>T" and a
// fanout to "<prefix>fanout.T", where the prefix is transport_url's virtual
// host followed by a dot ("nats://h:4222/prod" → "prod.q-plugin"), empty
// without one. Host topics are "T.<host>" ("dhcp_agent.host1").
//
// A request is one JSON object:
//
//	{"v": 1, "version": "1.0", "method": "report_state",
//	 "args": {"agent_state": {...}, "time": "..."},
//	 "msg_id": "7c1e…", "sent_at": "2026-11-22T07:41:10.123Z",
//	 "request_id": "req-4f0d…", "deadline": "2026-11-22T07:42:10.123Z"}
//
// v is the envelope's format version (1; a consumer refuses other
// versions with an UnsupportedEnvelope error); version is the RPC API
// version of the method, as oslo.messaging's target version; args are the
// method's keyword arguments. request_id (optional) is the caller's
// request id, as oslo.messaging sends oslo.context's request_id with every
// message: the handler runs with it, so the server's log lines for an
// agent's call carry the id of the agent's pass; a request without one
// gets a new "req-<uuid>", as oslo.context makes. deadline (optional,
// calls only) is when the caller stops waiting, in UTC to the
// millisecond (truncated, never later): the handler's context ends then,
// and a call that arrives after it is dropped (answered MessagingTimeout,
// as RabbitMQ expires an oslo.messaging call's message). A consumer never
// allows a call more than deadline − sent_at from its arrival, so a
// caller whose clock runs ahead cannot stretch it; a call without a
// deadline gets the consumer's rpc_response_timeout. Both fields were
// added to version 1: consumers ignore fields they do not know, so older
// and newer peers interoperate. A call carries a NATS reply subject; its
// reply is
//
//	{"v": 1, "result": <any JSON>}
//
// or, when the handler failed,
//
//	{"v": 1, "failure": {"type": "NetworkNotFound", "message": "..."}}
//
// Casts and fanouts get no reply. Delivery is at most once on the bus
// itself; the server's outbox (package outbox) adds at-least-once delivery
// of notifications that follow committed changes, and agents resync
// periodically, so a lost message delays but never breaks.
package rpc
