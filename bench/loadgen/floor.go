package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// floorPort is the body of one port as Neutrino shows it (ML2 with
// linuxbridge, one fixed IP), so the floor serves as many bytes per show
// as the server under test.
const floorPort = `{"id":"6f2c9a3e-2b1d-4c8e-9f4a-3b5d7e9f1a2c","name":"bench-floor-port-1","network_id":"0d8b7c6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e","tenant_id":"fake_project_id","mac_address":"fa:16:3e:12:34:56","admin_state_up":true,"status":"DOWN","device_id":"","device_owner":"","fixed_ips":[{"subnet_id":"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d","ip_address":"10.42.0.17"}],"allowed_address_pairs":[],"extra_dhcp_opts":[],"security_groups":["3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a9f"],"description":"","binding:vnic_type":"normal","binding:profile":{},"binding:host_id":"","binding:vif_type":"unbound","binding:vif_details":{},"port_security_enabled":true,"ip_allocation":"immediate","propagate_uplink_status":false,"resource_request":null,"tags":[],"created_at":"2026-12-07T02:10:32Z","updated_at":"2026-12-07T02:10:32Z","revision_number":1,"project_id":"fake_project_id"}`

// serveFloor runs a trivial HTTP server on addr until ctx ends: every GET
// of a collection answers list (one port in a list when nil), every other
// GET one port. Driving it with the port-show scenario measures the limit
// that the machine, net/http and this load generator set on a show, and
// with port-list-full, list being a listing the server under test gave,
// the time to serve that listing's bytes from memory; both in the same
// run as the server under test.
func serveFloor(ctx context.Context, addr string, list []byte, ready func(net.Addr)) error {
	if list == nil {
		list = []byte(`{"ports":[` + floorPort + `]}`)
	}
	one := []byte(`{"port":` + floorPort + `}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "the floor only answers GET", http.StatusMethodNotAllowed)
			return
		}
		body := one
		if strings.HasSuffix(r.URL.Path, "s") {
			body = list
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	srv := &http.Server{Handler: h}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("floor: %w", err)
	}
	return nil
}
