package api

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/apidef"
	"github.com/neutrino-net/neutrino/internal/fault"
)

// fakeScheduler records routers on agents in memory; agent "a1" exists.
type fakeScheduler struct {
	AgentScheduler
	routers map[string]bool
}

func (f *fakeScheduler) L3Routers(_ context.Context, agent string) ([]string, error) {
	if agent != "a1" {
		return nil, fault.NotFound("AgentNotFound", "Agent "+agent+" could not be found.")
	}
	var ids []string
	for id := range f.routers {
		ids = append(ids, id)
	}
	return ids, nil
}

func (f *fakeScheduler) AddL3Router(_ context.Context, agent, router string) error {
	if f.routers[router] {
		return fault.Conflict("RouterHostedByL3Agent", "The router %s has been already hosted by the L3 Agent %s.", router, agent)
	}
	f.routers[router] = true
	return nil
}

func (f *fakeScheduler) RemoveL3Router(_ context.Context, agent, router string) error {
	if !f.routers[router] {
		return fault.Conflict("RouterNotHostedByL3Agent", "The router %s is not hosted by the L3 Agent %s.", router, agent)
	}
	delete(f.routers, router)
	return nil
}

func (f *fakeScheduler) RouterL3Agents(_ context.Context, router string) ([]string, error) {
	if f.routers[router] {
		return []string{"a1"}, nil
	}
	return nil, nil
}

// TestL3SchedulerRoutes drives the l3_agent_scheduler sub-resources;
// without a routers or agents controller objects show as their ids.
func TestL3SchedulerRoutes(t *testing.T) {
	sch := &fakeScheduler{routers: map[string]bool{}}
	ts := testServer(t, func(o *Options) {
		o.AgentScheduler = sch
		o.Extensions = append(o.Extensions, apidef.LookupExtension("l3_agent_scheduler"))
	})
	for _, step := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/v2.0/agents/a1/l3-routers", `{"router_id": "r1"}`, 201, "null"},
		{"POST", "/v2.0/agents/a1/l3-routers", `{"router_id": "r1"}`, 409, `"type":"RouterHostedByL3Agent"`},
		{"POST", "/v2.0/agents/a1/l3-routers", `{}`, 400, "Required attribute 'router_id' not specified"},
		{"GET", "/v2.0/agents/a1/l3-routers", "", 200, `{"routers":[{"id":"r1"}]}`},
		{"GET", "/v2.0/agents/zz/l3-routers", "", 404, `"type":"AgentNotFound"`},
		{"GET", "/v2.0/routers/r1/l3-agents", "", 200, `{"agents":[{"id":"a1"}]}`},
		{"PATCH", "/v2.0/agents/a1/l3-routers", "", 405, "HTTPMethodNotAllowed"},
		{"DELETE", "/v2.0/agents/a1/l3-routers/r1", "", 204, ""},
		{"DELETE", "/v2.0/agents/a1/l3-routers/r1", "", 409, `"type":"RouterNotHostedByL3Agent"`},
		{"GET", "/v2.0/routers/r1/l3-agents", "", 200, `{"agents":[]}`},
		// The DHCP scheduler extension is not enabled here.
		{"GET", "/v2.0/agents/a1/dhcp-networks", "", 404, "HTTPNotFound"},
	} {
		req, _ := http.NewRequest(step.method, ts.URL+step.path, strings.NewReader(step.body))
		if step.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != step.status || !strings.Contains(string(body), step.want) {
			t.Errorf("%s %s: %d %s, want %d containing %s", step.method, step.path, resp.StatusCode, body, step.status, step.want)
		}
	}
}
