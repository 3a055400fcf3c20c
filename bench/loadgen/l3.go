package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
)

// L3 scenarios: routers and floating IPs.
//
//   - router-interface: one op is PUT add_router_interface then PUT
//     remove_router_interface of a subnet. Every worker has its own router
//     and subnet, so the run measures the interface path, not one router's
//     lock.
//   - floatingip: one op is POST /v2.0/floatingips on an external network,
//     PUT to associate it with a port behind a router, and DELETE. Every
//     worker has its own port.
//
// Both need the caller to be allowed to create an external network (an
// admin, as noauth is).
const (
	scRouterInterface = "router-interface"
	scFloatingIP      = "floatingip"
)

// l3Slots are what one worker of an L3 scenario uses exclusively.
type l3Slot struct {
	router, subnet, port string
}

// slots hands each running op a slot no other op holds.
type slots chan l3Slot

func (s slots) with(ctx context.Context, f func(l3Slot) error) error {
	select {
	case sl := <-s:
		defer func() { s <- sl }()
		return f(sl)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func maxConcurrency(cs []int) int { return max(slices.Max(cs), 1) }

// createRouter creates a router, with a gateway on extNet unless it is "".
func (c *Client) createRouter(ctx context.Context, name, extNet string) (string, error) {
	attrs := map[string]any{"name": name}
	if extNet != "" {
		attrs["external_gateway_info"] = map[string]any{"network_id": extNet}
	}
	var out struct {
		Router idOnly `json:"router"`
	}
	if err := c.doJSON(ctx, http.MethodPost, "/v2.0/routers", map[string]any{"router": attrs}, &out); err != nil {
		return "", err
	}
	if out.Router.ID == "" {
		return "", errors.New("create router: response has no router id")
	}
	return out.Router.ID, nil
}

// routerInterface adds or removes a router's interface on a subnet.
func (c *Client) routerInterface(ctx context.Context, router, subnet string, add bool) error {
	action := "remove_router_interface"
	if add {
		action = "add_router_interface"
	}
	_, err := c.do(ctx, http.MethodPut, resourcePath("routers", router)+"/"+action, map[string]any{"subnet_id": subnet})
	return err
}

// createExternalNetwork creates a network with router:external set.
func (c *Client) createExternalNetwork(ctx context.Context, name string) (string, error) {
	var out struct {
		Network idOnly `json:"network"`
	}
	in := map[string]any{"network": map[string]any{"name": name, "router:external": true}}
	if err := c.doJSON(ctx, http.MethodPost, "/v2.0/networks", in, &out); err != nil {
		return "", err
	}
	return out.Network.ID, nil
}

// routerInterfaceBench measures attaching and detaching router interfaces.
func (b *bench) routerInterfaceBench(ctx context.Context) {
	if !b.supported(ctx, scRouterInterface, "routers", "subnets") {
		return
	}
	pool, err := b.l3Slots(ctx, scRouterInterface, false)
	if err != nil {
		b.fail(ctx, scRouterInterface, 0, err)
		return
	}
	b.forEachConcurrency(ctx, func(c int) {
		b.out.emit(b.measure(ctx, scRouterInterface, c, b.opsPerRun(), func(ctx context.Context, _ int) error {
			return pool.with(ctx, func(s l3Slot) error {
				if err := b.client.routerInterface(ctx, s.router, s.subnet, true); err != nil {
					return err
				}
				return b.client.routerInterface(ctx, s.router, s.subnet, false)
			})
		}))
	})
}

// floatingIPBench measures a floating IP's life: create, associate, delete.
func (b *bench) floatingIPBench(ctx context.Context) {
	if !b.supported(ctx, scFloatingIP, "routers", "floatingips", "subnets", "ports") {
		return
	}
	pool, err := b.l3Slots(ctx, scFloatingIP, true)
	if err != nil {
		b.fail(ctx, scFloatingIP, 0, err)
		return
	}
	b.forEachConcurrency(ctx, func(c int) {
		b.out.emit(b.measure(ctx, scFloatingIP, c, b.opsPerRun(), func(ctx context.Context, _ int) error {
			return pool.with(ctx, func(s l3Slot) error {
				var out struct {
					FloatingIP idOnly `json:"floatingip"`
				}
				in := map[string]any{"floatingip": map[string]any{"floating_network_id": b.l3Ext}}
				if err := b.client.doJSON(ctx, http.MethodPost, "/v2.0/floatingips", in, &out); err != nil {
					return err
				}
				b.tracker.add("floatingips", out.FloatingIP.ID)
				path := resourcePath("floatingips", out.FloatingIP.ID)
				if _, err := b.client.do(ctx, http.MethodPut, path,
					map[string]any{"floatingip": map[string]any{"port_id": s.port}}); err != nil {
					return err
				}
				if err := b.client.deleteResource(ctx, "floatingips", out.FloatingIP.ID); err != nil {
					return err
				}
				b.tracker.remove("floatingips", out.FloatingIP.ID)
				return nil
			})
		}))
	})
}

// l3Slots prepares one slot per worker of the largest concurrency level.
// For router-interface: a router and a subnet of its own each. For
// floatingip: one external network with a /24, one private network with
// a /24 behind one router, and a port on it per slot.
func (b *bench) l3Slots(ctx context.Context, scenario string, fip bool) (slots, error) {
	n := maxConcurrency(b.cfg.concurrency)
	if err := b.loadTakenCIDRs(ctx); err != nil {
		return nil, err
	}
	nets, err := b.createNetworks(ctx, scenario, 1)
	if err != nil {
		return nil, fmt.Errorf("prepare network: %w", err)
	}
	pool := make(slots, n)
	if !fip {
		for i := range n {
			cidr, err := b.nextSubnetCIDR()
			if err != nil {
				return nil, err
			}
			sub, err := b.client.createSubnet(ctx, nets[0].ID, b.names.next("ri-subnet"), cidr)
			if err != nil {
				return nil, fmt.Errorf("prepare subnet %d: %w", i, err)
			}
			b.tracker.add("subnets", sub)
			r, err := b.client.createRouter(ctx, b.names.next("router"), "")
			if err != nil {
				return nil, fmt.Errorf("prepare router %d: %w", i, err)
			}
			b.tracker.add("routers", r)
			pool <- l3Slot{router: r, subnet: sub}
		}
		return pool, nil
	}
	if b.l3Ext == "" {
		ext, err := b.client.createExternalNetwork(ctx, b.names.next("ext-net"))
		if err != nil {
			return nil, fmt.Errorf("prepare external network: %w", err)
		}
		b.tracker.add("networks", ext)
		cidr, err := b.nextSubnetCIDR()
		if err != nil {
			return nil, err
		}
		extSub, err := b.client.createSubnet(ctx, ext, b.names.next("ext-subnet"), cidr)
		if err != nil {
			return nil, fmt.Errorf("prepare external subnet: %w", err)
		}
		b.tracker.add("subnets", extSub)
		b.l3Ext = ext
	}
	cidr, err := b.nextSubnetCIDR()
	if err != nil {
		return nil, err
	}
	sub, err := b.client.createSubnet(ctx, nets[0].ID, b.names.next("fip-subnet"), cidr)
	if err != nil {
		return nil, fmt.Errorf("prepare private subnet: %w", err)
	}
	b.tracker.add("subnets", sub)
	r, err := b.client.createRouter(ctx, b.names.next("router"), b.l3Ext)
	if err != nil {
		return nil, fmt.Errorf("prepare router: %w", err)
	}
	b.tracker.add("routers", r)
	if err := b.client.routerInterface(ctx, r, sub, true); err != nil {
		return nil, fmt.Errorf("prepare router interface: %w", err)
	}
	b.l3Interfaces = append(b.l3Interfaces, l3Slot{router: r, subnet: sub})
	for i := range n {
		port, err := b.client.createPort(ctx, nets[0].ID, b.names.next("fip-port"))
		if err != nil {
			return nil, fmt.Errorf("prepare port %d: %w", i, err)
		}
		b.tracker.add("ports", port)
		pool <- l3Slot{router: r, subnet: sub, port: port}
	}
	return pool, nil
}

// cleanupL3 removes what the L3 scenarios made that the generic cleanup
// cannot: floating IPs, router interfaces, then routers (their gateway
// ports go with them).
func (b *bench) cleanupL3(ctx context.Context) []error {
	var errs []error
	ignore404 := func(err error) error {
		if err != nil && statusOf(err) != http.StatusNotFound {
			return err
		}
		return nil
	}
	for _, id := range b.tracker.list("floatingips") {
		if err := ignore404(b.client.deleteResource(ctx, "floatingips", id)); err != nil {
			errs = append(errs, fmt.Errorf("cleanup floating IP %s: %w", id, err))
		}
		b.tracker.remove("floatingips", id)
	}
	for _, s := range b.l3Interfaces {
		if err := ignore404(b.client.routerInterface(ctx, s.router, s.subnet, false)); err != nil {
			errs = append(errs, fmt.Errorf("cleanup interface of router %s: %w", s.router, err))
		}
	}
	b.l3Interfaces = nil
	for _, id := range b.tracker.list("routers") {
		if err := ignore404(b.client.deleteResource(ctx, "routers", id)); err != nil {
			errs = append(errs, fmt.Errorf("cleanup router %s: %w", id, err))
		}
		b.tracker.remove("routers", id)
	}
	return errs
}
