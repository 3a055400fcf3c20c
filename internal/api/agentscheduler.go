package api

import (
	"context"
	"net/http"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// AgentScheduler is the agent schedulers as the scheduling API sees
// them: which networks and routers each agent hosts, and the operator's
// manual (un)binding. The agents plugin implements it. Every method
// answers the client's error as a *fault.Error (AgentNotFound,
// NetworkHostedByDHCPAgent …).
type AgentScheduler interface {
	DHCPNetworks(ctx context.Context, agentID string) ([]string, error)
	AddDHCPNetwork(ctx context.Context, agentID, networkID string) error
	RemoveDHCPNetwork(ctx context.Context, agentID, networkID string) error
	NetworkDHCPAgents(ctx context.Context, networkID string) ([]string, error)
	L3Routers(ctx context.Context, agentID string) ([]string, error)
	AddL3Router(ctx context.Context, agentID, routerID string) error
	RemoveL3Router(ctx context.Context, agentID, routerID string) error
	RouterL3Agents(ctx context.Context, routerID string) ([]string, error)
}

// agentScheduling serves the sub-resources of the dhcp_agent_scheduler
// and l3_agent_scheduler extensions:
//
//	/v2.0/agents/{id}/dhcp-networks[/{network_id}]
//	/v2.0/networks/{id}/dhcp-agents
//	/v2.0/agents/{id}/l3-routers[/{router_id}]
//	/v2.0/routers/{id}/l3-agents
//
// It reports whether parts named one of them. Policy is enforced on the
// action alone, with an empty target, as Neutron's controllers do.
func (s *Server) agentScheduling(w http.ResponseWriter, r *http.Request, parts []string) bool {
	sch := s.opts.AgentScheduler
	if sch == nil || len(parts) < 3 || len(parts) > 4 {
		return false
	}
	dhcp := s.extensionEnabled("dhcp_agent_scheduler")
	l3 := s.extensionEnabled("l3_agent_scheduler")
	ctx := r.Context()
	var err error
	switch {
	case parts[0] == "agents" && parts[2] == "dhcp-networks" && dhcp:
		err = s.hostedResources(w, r, parts, "dhcp-network", "networks", "network_id",
			sch.DHCPNetworks, sch.AddDHCPNetwork, sch.RemoveDHCPNetwork)
	case parts[0] == "agents" && parts[2] == "l3-routers" && l3:
		err = s.hostedResources(w, r, parts, "l3-router", "routers", "router_id",
			sch.L3Routers, sch.AddL3Router, sch.RemoveL3Router)
	case parts[0] == "networks" && parts[2] == "dhcp-agents" && dhcp && len(parts) == 3:
		err = s.hostingAgents(w, r, "get_dhcp-agents", parts[1], sch.NetworkDHCPAgents)
	case parts[0] == "routers" && parts[2] == "l3-agents" && l3 && len(parts) == 3:
		err = s.hostingAgents(w, r, "get_l3-agents", parts[1], sch.RouterL3Agents)
	default:
		return false
	}
	if err != nil {
		s.writeError(ctx, w, err)
	}
	return true
}

// hostedResources serves GET and POST /agents/{id}/<kind>s and DELETE
// /agents/{id}/<kind>s/{resource_id}.
func (s *Server) hostedResources(w http.ResponseWriter, r *http.Request, parts []string, kind, collection, idKey string,
	list func(context.Context, string) ([]string, error),
	add, remove func(context.Context, string, string) error) error {
	ctx := r.Context()
	agentID := parts[1]
	switch {
	case len(parts) == 3 && r.Method == http.MethodGet:
		if err := s.enforce(ctx, "get_"+kind+"s", map[string]any{}); err != nil {
			return err
		}
		ids, err := list(ctx, agentID)
		if err != nil {
			return err
		}
		return s.writeByIDs(ctx, w, r, collection, ids)
	case len(parts) == 3 && r.Method == http.MethodPost:
		if err := s.enforce(ctx, "create_"+kind, map[string]any{}); err != nil {
			return err
		}
		body, err := readBody(r)
		if err != nil {
			return err
		}
		id, _ := body[idKey].(string)
		if id == "" {
			return fault.BadRequest("Failed to parse request. Required attribute '%s' not specified", idKey)
		}
		if err := add(ctx, agentID, id); err != nil {
			return err
		}
		writeBody(w, http.StatusCreated, []byte("null"))
		return nil
	case len(parts) == 3:
		methodNotAllowed(w, "GET, POST")
		return nil
	case r.Method == http.MethodDelete:
		if err := s.enforce(ctx, "delete_"+kind, map[string]any{}); err != nil {
			return err
		}
		if err := remove(ctx, agentID, parts[3]); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	default:
		methodNotAllowed(w, "DELETE")
		return nil
	}
}

// hostingAgents serves GET /networks/{id}/dhcp-agents and
// /routers/{id}/l3-agents.
func (s *Server) hostingAgents(w http.ResponseWriter, r *http.Request, action, id string,
	list func(context.Context, string) ([]string, error)) error {
	ctx := r.Context()
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return nil
	}
	if err := s.enforce(ctx, action, map[string]any{}); err != nil {
		return err
	}
	ids, err := list(ctx, id)
	if err != nil {
		return err
	}
	return s.writeByIDs(ctx, w, r, "agents", ids)
}

// writeByIDs writes {"<collection>": [...]} with the objects of ids as
// the collection's own controller shows them (fields= honoured). A
// collection this server does not serve shows each object as its id.
func (s *Server) writeByIDs(ctx context.Context, w http.ResponseWriter, r *http.Request, collection string, ids []string) error {
	c := s.controllers[collection]
	b := append([]byte(`{"`), collection...)
	b = append(b, `":[`...)
	if c == nil {
		for i, id := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, map[string]string{"id": id})
		}
	} else if len(ids) > 0 {
		vals := make([]any, len(ids))
		for i, id := range ids {
			vals[i] = id
		}
		q := &resource.Query{Filters: []resource.Filter{{Attr: c.res.Attr("id"), Values: vals}},
			Sorts: []resource.SortKey{{Attr: c.res.Attr("id")}}}
		objs, err := c.h.List(ctx, q)
		if err != nil {
			return err
		}
		v := newView(c.res, r.URL.Query()["fields"])
		for i, o := range objs {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.appendObject(b, o, nil)
		}
	}
	b = append(b, "]}"...)
	writeBody(w, http.StatusOK, b)
	return nil
}
