package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxErrorBody bounds how much of an error response body is kept.
const maxErrorBody = 1024

// Client sends requests to one Neutron-compatible endpoint. It is safe for
// concurrent use; all requests share one http.Client and its keep-alive
// connection pool.
type Client struct {
	base    string // endpoint URL without a trailing slash or /v2.0 suffix
	hc      *http.Client
	token   string
	project string
}

// newHTTPClient returns an http.Client whose transport keeps at least
// maxConns idle keep-alive connections to the endpoint, so a run at that
// concurrency never has to reconnect.
func newHTTPClient(maxConns int, timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 2 * maxConns
	t.MaxIdleConnsPerHost = maxConns
	return &http.Client{Transport: t, Timeout: timeout}
}

// newClient returns a Client for endpoint. A non-empty token is sent as
// X-Auth-Token; otherwise a non-empty project is sent as X-Project-Id.
func newClient(endpoint string, hc *http.Client, token, project string) (*Client, error) {
	base, err := normalizeEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	return &Client{base: base, hc: hc, token: token, project: project}, nil
}

// normalizeEndpoint validates an endpoint URL and strips any trailing slash
// and /v2.0 suffix, so that API paths such as /v2.0/networks can be appended.
func normalizeEndpoint(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", fmt.Errorf("parse endpoint %q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("endpoint %q is not an http(s) URL", s)
	}
	u.RawQuery, u.Fragment, u.RawPath = "", "", ""
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/v2.0")
	return u.String(), nil
}

// response is a fully read 2xx HTTP response.
type response struct {
	status int
	body   []byte
}

// HTTPError reports a response whose status code is not 2xx.
type HTTPError struct {
	Method string
	Path   string
	Status int
	Body   string // possibly truncated
}

// Error implements error.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Body)
}

// statusOf returns the HTTP status code carried by err, or 0 if err is not
// (or does not wrap) an *HTTPError.
func statusOf(err error) int {
	if he, ok := errors.AsType[*HTTPError](err); ok {
		return he.Status
	}
	return 0
}

// resolve turns a path such as /v2.0/networks into an absolute URL on the
// endpoint; absolute URLs are returned unchanged.
func (c *Client) resolve(ref string) string {
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		return ref
	}
	return c.base + ref
}

// do sends one request and reads the whole response body, so the connection
// goes back to the keep-alive pool. A non-nil in is sent as a JSON body.
// Responses other than 2xx are returned as an *HTTPError.
func (c *Client) do(ctx context.Context, method, ref string, in any) (*response, error) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s request: %w", method, ref, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.resolve(ref), body)
	if err != nil {
		return nil, fmt.Errorf("build %s %s request: %w", method, ref, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("X-Auth-Token", c.token)
	} else if c.project != "" {
		// A noauth caller needs a role too: Neutron's default policy lets
		// project members, not bare project ids, create resources.
		req.Header.Set("X-Project-Id", c.project)
		req.Header.Set("X-Roles", "member,reader")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err // *url.Error already names the method and URL.
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", method, req.URL.Path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if len(data) > maxErrorBody {
			data = append(data[:maxErrorBody:maxErrorBody], "..."...)
		}
		return nil, &HTTPError{
			Method: method,
			Path:   req.URL.RequestURI(),
			Status: resp.StatusCode,
			Body:   strings.TrimSpace(string(data)),
		}
	}
	return &response{status: resp.StatusCode, body: data}, nil
}

// doJSON is do followed by decoding the response body into out, if out is
// not nil.
func (c *Client) doJSON(ctx context.Context, method, ref string, in, out any) error {
	resp, err := c.do(ctx, method, ref, in)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fmt.Errorf("decode %s %s response: %w", method, ref, err)
	}
	return nil
}

// checkReachable lists at most one network, so that a wrong endpoint or bad
// credentials fail the run before any scenario starts.
func (c *Client) checkReachable(ctx context.Context) error {
	if _, err := c.do(ctx, http.MethodGet, "/v2.0/networks?limit=1", nil); err != nil {
		return fmt.Errorf("endpoint check: %w", err)
	}
	return nil
}
