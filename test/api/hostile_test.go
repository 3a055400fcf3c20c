package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestHostileRequests replays requests an attacker or a careless client
// sends, on both engines: each gets a 4xx NeutronError (never a 5xx, a
// plain-text reply or no reply), and none changes anything stored.
func TestHostileRequests(t *testing.T) {
	engines(t, func(t *testing.T, e *env) {
		net := e.createNetwork(member1, map[string]any{"name": "n"})
		netPath := "/v2.0/networks/" + net["id"].(string)
		sg := e.do(member1, "POST", "/v2.0/security-groups", map[string]any{"security_group": map[string]any{"name": "g"}}).
			expect(t, 201).obj(t, "security_group")
		sgPath := "/v2.0/security-groups/" + sg["id"].(string)
		before := e.snapshot()

		manyTags := func(n int) string {
			tags := make([]string, n)
			for i := range tags {
				tags[i] = fmt.Sprintf("tag%d", i)
			}
			return strings.Join(tags, ",")
		}
		repeat := func(pair string, n int) string {
			return strings.TrimSuffix(strings.Repeat(pair+"&", n), "&")
		}
		for _, c := range []struct {
			name, method, path string
			body               any
			status             int
			// msg is part of the message, when it matters.
			msg string
		}{
			{"NUL in a filter", "GET", "/v2.0/networks?name=%00", nil, 400, "Invalid input for name"},
			{"invalid UTF-8 in a filter", "GET", "/v2.0/networks?name=%ff%fe", nil, 400, "not valid UTF-8"},
			{"bad percent-encoding", "GET", "/v2.0/networks?name=%zz", nil, 400, "not correctly percent-encoded"},
			{"bad percent-encoding in a name", "GET", "/v2.0/networks?na%zzme=x", nil, 400, "percent-encoded"},
			{"NUL in a parameter name", "GET", "/v2.0/networks?na%00me=x", nil, 400, "query parameter name"},
			{"NUL in device_id", "GET", "/v2.0/ports?device_id=%00", nil, 400, "Invalid input for device_id"},
			{"NUL in a marker", "GET", "/v2.0/networks?limit=1&marker=%00", nil, 400, "marker"},
			{"NUL in fields", "GET", "/v2.0/networks?fields=%00", nil, 400, "fields"},
			{"NUL as an id", "GET", "/v2.0/networks/%00", nil, 400, "Invalid input for id"},
			{"invalid UTF-8 as an id", "DELETE", "/v2.0/networks/%ff", nil, 400, "Invalid input for id"},
			{"NUL as a quota's project", "GET", "/v2.0/quotas/%00", nil, 400, "project_id"},
			{"NUL as a quota's project on PUT", "PUT", "/v2.0/quotas/%00", map[string]any{"quota": map[string]any{"network": 5}}, 400, "project_id"},
			{"NUL in a tag path", "PUT", netPath + "/tags/a%00b", nil, 400, "Invalid input for tag"},
			{"NUL in a sub-resource id", "GET", "/v2.0/floatingips/%00/port_forwardings", nil, 400, "Invalid input"},
			{"NUL in a security group name", "POST", "/v2.0/security-groups",
				map[string]any{"security_group": map[string]any{"name": "a\x00b"}}, 400, "Invalid input for name"},
			{"NUL in a security group description", "POST", "/v2.0/security-groups",
				map[string]any{"security_group": map[string]any{"name": "x", "description": "\x00"}}, 400, "Invalid input for description"},
			{"NUL in an update", "PUT", sgPath, map[string]any{"security_group": map[string]any{"description": "d\x00"}}, 400, "description"},
			{"NUL in a bulk item", "POST", "/v2.0/networks",
				map[string]any{"networks": []any{map[string]any{"name": "ok"}, map[string]any{"name": "\x00"}}}, 400, "Invalid input for name"},
			{"NUL in an attribute name", "POST", "/v2.0/networks", map[string]any{"network": map[string]any{"na\x00me": "x"}}, 400, "attribute name"},
			{"NUL in a tag", "PUT", netPath + "/tags", map[string]any{"tags": []string{"x\x00"}}, 400, "Invalid input for tags"},
			{"NUL in a port's tag", "POST", "/v2.0/ports",
				map[string]any{"port": map[string]any{"network_id": net["id"], "tags": []string{"\x00"}}}, 400, "Invalid input for tags"},
			{"NUL deep in a list", "POST", "/v2.0/ports", map[string]any{"port": map[string]any{"network_id": net["id"],
				"fixed_ips": []any{map[string]any{"ip_address": "10.0.0.1\x00"}}}}, 400, "Invalid input for fixed_ips"},
			{"invalid UTF-8 in a JSON string", "POST", "/v2.0/security-groups",
				"{\"security_group\": {\"name\": \"ok\", \"description\": \"\xff\xfe\"}}", 400, "Invalid input for description"},
			{"invalid UTF-8 in a JSON name", "POST", "/v2.0/networks", "{\"network\": {\"\xc3\": 1}}", 400, "Invalid input for network"},
			{"33 sort keys", "GET", "/v2.0/networks?" + repeat("sort_key=name&sort_dir=asc", 33), nil, 400, "Too many sort keys: 33 given"},
			{"2,001 sort keys", "GET", "/v2.0/networks?" + repeat("sort_key=id&sort_dir=asc", 2001), nil, 414, "max_header_line"},
			{"933 tags", "GET", "/v2.0/networks?tags=" + manyTags(933), nil, 400, "Too many tags in tags: 933 given"},
			{"1,000 tags in tags-any", "GET", "/v2.0/ports?tags-any=" + manyTags(1000), nil, 400, "Too many tags in tags-any: 1000 given"},
			{"51 tags in not-tags", "GET", "/v2.0/ports?not-tags=" + manyTags(51), nil, 400, "Too many tags in not-tags"},
			{"1,001 filter values", "GET", "/v2.0/networks?" + repeat("mtu=1", 1001), nil, 400, "Too many filter values"},
			{"257 fields", "GET", "/v2.0/networks?" + repeat("fields=id", 257), nil, 400, "Too many fields"},
			{"257 fields on show", "GET", netPath + "?" + repeat("fields=id", 257), nil, 400, "Too many fields"},
			{"POST on a quota", "POST", "/v2.0/quotas/x", map[string]any{"quota": map[string]any{}}, 501, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := e.do(admin, c.method, c.path, c.body)
				r.neutronError(t, c.status, c.msg)
			})
		}

		// Requests net/http parses itself, and bodies that go wrong on
		// the way.
		for _, c := range []struct {
			name, raw string
			status    int
			msg       string
		}{
			{"malformed chunked body", "POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
				"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", 400, "could not be read"},
			{"truncated body", "POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
				"Content-Length: 100\r\n\r\n{\"network\": {\"name\": \"trunc", 400, "could not be read"},
			{"negative Content-Length", "POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "malformed"},
			{"duplicate Content-Length", "POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, "malformed"},
			{"bad request line", "GET /v2.0/networks HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400, "malformed"},
			{"bad percent-encoding in the path", "GET /v2.0/networks/%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed"},
			{"NUL in a header", "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Foo: a\x00b\r\n\r\n", 400, "malformed"},
			{"invalid UTF-8 in X-Project-Id", "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Project-Id: \xff\r\nX-Roles: member\r\n\r\n", 400, "X-Project-Id"},
			{"headers too large", "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\n" +
				strings.Repeat("X-Pad: "+strings.Repeat("p", 8000)+"\r\n", 20) + "\r\n", 431, "too large"},
			{"header line too long", "GET /v2.0/networks HTTP/1.1\r\nHost: x\r\nX-Pad: " + strings.Repeat("p", 17000) + "\r\n\r\n", 431, "max_header_line"},
			{"HTTP/2.0 over HTTP/1", "GET /v2.0/networks HTTP/2.0\r\nHost: x\r\n\r\n", 505, "not supported"},
			{"unknown transfer encoding", "POST /v2.0/networks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.raw(t, c.raw).neutronError(t, c.status, c.msg)
			})
		}

		if after := e.snapshot(); after != before {
			t.Errorf("hostile requests changed the store:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// snapshot renders what the hostile requests could have changed.
func (e *env) snapshot() string {
	e.t.Helper()
	var b strings.Builder
	for _, coll := range []string{"networks", "subnets", "ports", "security-groups", "quotas"} {
		r := e.do(admin, "GET", "/v2.0/"+coll, nil).expect(e.t, 200)
		b.Write(r.raw)
	}
	return b.String()
}

// raw sends bytes as they are on a new connection, closes its writing
// side, and reads the reply.
func (e *env) raw(t *testing.T, req string) *reply {
	t.Helper()
	u, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := &reply{status: resp.StatusCode, header: resp.Header, raw: body}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(body, &r.body); err != nil {
			t.Fatalf("reply is not JSON: %v: %s", err, body)
		}
	}
	return r
}

// neutronError fails unless the reply is a NeutronError with the status
// whose message contains msg (ignoring case).
func (r *reply) neutronError(t *testing.T, status int, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	ne, ok := r.body["NeutronError"].(map[string]any)
	if !ok {
		t.Fatalf("no NeutronError in %q (Content-Type %q)", r.raw, r.header.Get("Content-Type"))
	}
	for _, k := range []string{"type", "message", "detail"} {
		if _, ok := ne[k].(string); !ok {
			t.Errorf("NeutronError without %s: %s", k, r.raw)
		}
	}
	if m, _ := ne["message"].(string); !strings.Contains(strings.ToLower(m), strings.ToLower(msg)) {
		t.Errorf("message %q does not contain %q", m, msg)
	}
}
