package nova

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// apiVersion is the compute API microversion Neutron's notifier asks for.
const apiVersion = "2.1"

// Result is Nova's answer for one event: the event as Nova saw it, with
// its code (200, or 404 for an instance Nova does not know, 422 for one
// not on a host) and status.
type Result struct {
	Event
	Code int `json:"code"`
}

// Client posts external events to Nova's compute API, authenticating
// with Keystone (gophercloud, as the token validation does) and finding
// Nova in the catalog, or straight to a configured endpoint. It is safe
// for concurrent use; Keystone is first contacted on the first send.
type Client struct {
	opts ClientOptions
	http *http.Client

	mu      sync.Mutex
	compute *gophercloud.ServiceClient // nil until the first send
}

// NewClient checks the TLS options and returns a client; it contacts
// nothing.
func NewClient(o ClientOptions) (*Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if o.CAFile != "" || o.Insecure {
		tc := &tls.Config{InsecureSkipVerify: o.Insecure}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("[nova] cafile: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("[nova] cafile: no PEM certificate in %s", o.CAFile)
			}
		}
		tr.TLSClientConfig = tc
	}
	return &Client{opts: o, http: &http.Client{Transport: tr, Timeout: o.Timeout}}, nil
}

// service returns the compute client, authenticating first if needed.
func (c *Client) service(ctx context.Context) (*gophercloud.ServiceClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.compute != nil {
		return c.compute, nil
	}
	if c.opts.AuthType == "none" {
		c.compute = &gophercloud.ServiceClient{
			ProviderClient: &gophercloud.ProviderClient{HTTPClient: *c.http},
			Endpoint:       gophercloud.NormalizeURL(c.opts.Endpoint), Type: "compute", Microversion: apiVersion}
		return c.compute, nil
	}
	provider, err := openstack.NewClient(c.opts.AuthURL)
	if err != nil {
		return nil, fmt.Errorf("nova: [nova] auth_url: %w", err)
	}
	provider.HTTPClient = *c.http
	scope := &gophercloud.AuthScope{ProjectName: c.opts.ProjectName,
		DomainID: c.opts.ProjectDomainID, DomainName: c.opts.ProjectDomainName}
	if scope.DomainID == "" && scope.DomainName == "" {
		scope.DomainID, scope.DomainName = c.opts.UserDomainID, c.opts.UserDomainName
	}
	if scope.DomainID != "" {
		scope.DomainName = "" // gophercloud refuses both
	}
	ao := gophercloud.AuthOptions{IdentityEndpoint: c.opts.AuthURL, Username: c.opts.Username,
		Password: c.opts.Password, DomainID: c.opts.UserDomainID, AllowReauth: true, Scope: scope}
	if c.opts.UserDomainID == "" {
		ao.DomainName = c.opts.UserDomainName
	}
	if err := openstack.Authenticate(ctx, provider, ao); err != nil {
		return nil, fmt.Errorf("nova: authenticate with Keystone at %s: %w", c.opts.AuthURL, err)
	}
	endpoint := c.opts.Endpoint
	if endpoint == "" {
		// No Version: the catalog's compute endpoint as it is, without
		// a version discovery request to Nova.
		endpoint, err = provider.EndpointLocator(gophercloud.EndpointOpts{Type: "compute",
			Region: c.opts.RegionName, Availability: gophercloud.Availability(c.opts.EndpointType)})
		if err != nil {
			return nil, fmt.Errorf("nova: %s compute endpoint (region %q) in Keystone's catalog: %w",
				c.opts.EndpointType, c.opts.RegionName, err)
		}
	}
	c.compute = &gophercloud.ServiceClient{ProviderClient: provider, Endpoint: gophercloud.NormalizeURL(endpoint),
		Type: "compute", Microversion: apiVersion}
	return c.compute, nil
}

// reset drops the compute client so the next send authenticates and
// looks Nova up again (Neutron invalidates its session when the endpoint
// is not found).
func (c *Client) reset() {
	c.mu.Lock()
	c.compute = nil
	c.mu.Unlock()
}

// ErrRejected wraps an answer that retrying cannot change: Nova refused
// the request (400, 404 …). The events are dropped, as Neutron drops
// them.
var ErrRejected = errors.New("nova rejected the events")

// Send posts events to /os-server-external-events and returns Nova's
// answer for each. An error wrapping ErrRejected means Nova answered and
// the events should not be sent again; any other error (Keystone or Nova
// unreachable, a 5xx, an authentication failure) is worth a retry.
func (c *Client) Send(ctx context.Context, events []Event) ([]Result, error) {
	sc, err := c.service(ctx)
	if err != nil {
		return nil, err
	}
	var out struct {
		Events []Result `json:"events"`
	}
	_, err = sc.Post(ctx, sc.ServiceURL("os-server-external-events"), map[string]any{"events": events}, &out,
		&gophercloud.RequestOpts{OkCodes: []int{200, 207}})
	if err != nil {
		var code gophercloud.ErrUnexpectedResponseCode
		if errors.As(err, &code) {
			switch {
			case code.Actual == http.StatusUnauthorized || code.Actual == http.StatusForbidden:
				c.reset()
			case code.Actual == http.StatusRequestTimeout || code.Actual == http.StatusTooManyRequests:
			case code.Actual >= 400 && code.Actual < 500:
				return nil, fmt.Errorf("%w: %d %s", ErrRejected, code.Actual, strings.TrimSpace(string(code.Body)))
			}
		}
		return nil, fmt.Errorf("nova: post %d external event(s): %w", len(events), err)
	}
	return out.Events, nil
}
