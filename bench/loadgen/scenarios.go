package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Scenario names.
const (
	scNetworkCreate       = "network-create"
	scNetworkShow         = "network-show"
	scNetworkUpdate       = "network-update"
	scNetworkDelete       = "network-delete"
	scNetworkListFull     = "network-list-full"
	scNetworkListPaged    = "network-list-paged"
	scNetworkListFiltered = "network-list-filtered"
	scMixedReadMostly     = "mixed-read-mostly"
	scSubnetCreate        = "subnet-create"
	scPortCreate          = "port-create"
	scPortShow            = "port-show"
	scPortListFull        = "port-list-full"
	scPortListPaged       = "port-list-paged"
)

// allScenarios lists every scenario in the order a run performs them.
var allScenarios = []string{
	scNetworkCreate, scNetworkShow, scNetworkUpdate, scNetworkDelete,
	scNetworkListFull, scNetworkListPaged, scNetworkListFiltered,
	scMixedReadMostly, scSubnetCreate, scPortCreate, scPortShow, scPortListFull, scPortListPaged,
	scRouterInterface, scFloatingIP,
}

// runAll runs the selected scenarios in order, stopping early if ctx is
// cancelled. Each scenario emits its own report lines.
func (b *bench) runAll(ctx context.Context) {
	steps := []struct {
		scenarios []string
		run       func(context.Context)
	}{
		{[]string{scNetworkCreate}, b.networkCreate},
		{[]string{scNetworkShow}, b.networkShow},
		{[]string{scNetworkUpdate}, b.networkUpdate},
		{[]string{scNetworkDelete}, b.networkDelete},
		{[]string{scNetworkListFull, scNetworkListPaged, scNetworkListFiltered}, b.networkLists},
		{[]string{scMixedReadMostly}, b.mixedReadMostly},
		{[]string{scSubnetCreate}, b.subnetCreate},
		{[]string{scPortCreate}, b.portCreate},
		{[]string{scPortShow}, b.portShow},
		{[]string{scPortListFull, scPortListPaged}, b.portLists},
		{[]string{scRouterInterface}, b.routerInterfaceBench},
		{[]string{scFloatingIP}, b.floatingIPBench},
	}
	for _, step := range steps {
		if ctx.Err() != nil {
			return
		}
		if slices.ContainsFunc(step.scenarios, func(s string) bool { return b.want[s] }) {
			step.run(ctx)
		}
	}
}

// forEachConcurrency calls fn for each configured concurrency level until
// ctx is cancelled.
func (b *bench) forEachConcurrency(ctx context.Context, fn func(c int)) {
	for _, c := range b.cfg.concurrency {
		if ctx.Err() != nil {
			return
		}
		fn(c)
	}
}

// networkCreate measures POST /v2.0/networks.
func (b *bench) networkCreate(ctx context.Context) {
	b.forEachConcurrency(ctx, func(c int) {
		b.out.emit(b.measure(ctx, scNetworkCreate, c, b.opsPerRun(), func(ctx context.Context, _ int) error {
			n, err := b.client.createNetwork(ctx, b.names.next("net"))
			if err != nil {
				return err
			}
			b.tracker.add("networks", n.ID)
			b.mu.Lock()
			b.created = append(b.created, n)
			b.mu.Unlock()
			return nil
		}))
	})
}

// networkShow measures GET /v2.0/networks/{id}, cycling over the pool.
func (b *bench) networkShow(ctx context.Context) {
	if err := b.ensurePool(ctx); err != nil {
		b.fail(ctx, scNetworkShow, 0, err)
		return
	}
	b.forEachConcurrency(ctx, func(c int) {
		b.out.emit(b.measure(ctx, scNetworkShow, c, b.opsPerRun(), func(ctx context.Context, seq int) error {
			return b.client.showResource(ctx, "networks", b.pool[seq%len(b.pool)].ID)
		}))
	})
}

// networkUpdate measures PUT /v2.0/networks/{id} giving each network of the
// pool, in turn, a new name.
func (b *bench) networkUpdate(ctx context.Context) {
	if err := b.ensurePool(ctx); err != nil {
		b.fail(ctx, scNetworkUpdate, 0, err)
		return
	}
	b.forEachConcurrency(ctx, func(c int) {
		b.out.emit(b.measure(ctx, scNetworkUpdate, c, b.opsPerRun(), func(ctx context.Context, seq int) error {
			return b.client.updateNetworkName(ctx, b.pool[seq%len(b.pool)].ID, b.names.next("net"))
		}))
	})
}

// networkDelete measures DELETE /v2.0/networks/{id} on -n networks created
// for the purpose before each run. With -duration, a run also ends when
// those networks are all gone.
func (b *bench) networkDelete(ctx context.Context) {
	b.forEachConcurrency(ctx, func(c int) {
		victims, err := b.createNetworks(ctx, "del", b.cfg.ops)
		if err != nil {
			b.fail(ctx, scNetworkDelete, c, fmt.Errorf("prepare networks to delete: %w", err))
			return
		}
		b.out.emit(b.measure(ctx, scNetworkDelete, c, len(victims), func(ctx context.Context, seq int) error {
			id := victims[seq].ID
			if err := b.client.deleteResource(ctx, "networks", id); err != nil {
				return err
			}
			b.tracker.remove("networks", id)
			return nil
		}))
	})
}

// networkLists runs the selected network list scenarios at each
// prepopulation level, smallest first, growing the number of networks the
// endpoint lists before each level.
func (b *bench) networkLists(ctx context.Context) {
	var selected []string
	for _, s := range []string{scNetworkListFull, scNetworkListPaged, scNetworkListFiltered} {
		if b.want[s] {
			selected = append(selected, s)
		}
	}
	if b.want[scNetworkListFiltered] {
		if err := b.ensureFilterTargets(ctx); err != nil {
			b.fail(ctx, scNetworkListFiltered, 0, err)
			selected = slices.DeleteFunc(selected, func(s string) bool { return s == scNetworkListFiltered })
		}
	}
	b.atLevels(ctx, b.cfg.prepopulate, b.prepopulate, selected, func(s string, c int) Result {
		switch s {
		case scNetworkListFull:
			return b.listFull(ctx, s, "networks", c)
		case scNetworkListPaged:
			return b.listPaged(ctx, s, "networks", c)
		}
		return b.listFiltered(ctx, c)
	})
}

// atLevels runs the selected list scenarios at each prepopulation level,
// smallest first, growing the collection with prepopulate before each
// level; a level whose set-up fails reports every scenario failed.
func (b *bench) atLevels(ctx context.Context, levels []int, prepopulate func(context.Context, int) error,
	selected []string, run func(scenario string, c int) Result) {
	levels = slices.Clone(levels)
	slices.Sort(levels)
	for _, level := range slices.Compact(levels) {
		if ctx.Err() != nil {
			return
		}
		if err := prepopulate(ctx, level); err != nil {
			if ctx.Err() != nil {
				return
			}
			for _, s := range selected {
				r := Result{Scenario: s, Prepopulated: new(level)}
				r.fail(err.Error())
				b.out.emit(r)
			}
			continue
		}
		for _, s := range selected {
			b.forEachConcurrency(ctx, func(c int) {
				r := run(s, c)
				r.Prepopulated = new(level)
				b.out.emit(r)
			})
		}
	}
}

// listFull measures GET /v2.0/<collection> without paging. The number of
// items and the size of the last response are reported; counting happens
// after the run so it does not add to the measured latency.
func (b *bench) listFull(ctx context.Context, scenario, collection string, c int) Result {
	var last atomic.Pointer[[]byte]
	r := b.measure(ctx, scenario, c, b.opsPerRun(), func(ctx context.Context, _ int) error {
		resp, err := b.client.do(ctx, http.MethodGet, "/v2.0/"+collection, nil)
		if err != nil {
			return err
		}
		last.Store(&resp.body)
		return nil
	})
	r.addListExtras(collection, last.Load())
	return r
}

// listPaged measures a whole walk of GET /v2.0/<collection>?limit=100
// following the <collection>_links rel=next links; one operation is one
// complete walk.
func (b *bench) listPaged(ctx context.Context, scenario, collection string, c int) Result {
	var last atomic.Pointer[walkStats]
	query := url.Values{"limit": {fmt.Sprint(listPageSize)}}
	r := b.measure(ctx, scenario, c, b.opsPerRun(), func(ctx context.Context, _ int) error {
		st, err := b.client.walk(ctx, collection, query, nil)
		if err != nil {
			return err
		}
		last.Store(&st)
		return nil
	})
	if st := last.Load(); st != nil {
		r.Items, r.Pages, r.Bytes = new(st.items), new(st.pages), new(st.bytes)
	}
	return r
}

// listFiltered measures GET /v2.0/networks?name=<name>, cycling over the
// names of the filter targets; each query should return one network.
func (b *bench) listFiltered(ctx context.Context, c int) Result {
	var last atomic.Pointer[[]byte]
	r := b.measure(ctx, scNetworkListFiltered, c, b.opsPerRun(), func(ctx context.Context, seq int) error {
		body, err := b.filterByName(ctx, b.filterTargets[seq%len(b.filterTargets)].Name)
		if err != nil {
			return err
		}
		last.Store(&body)
		return nil
	})
	r.addListExtras("networks", last.Load())
	return r
}

// filterByName lists the networks called name and returns the raw body.
func (b *bench) filterByName(ctx context.Context, name string) ([]byte, error) {
	resp, err := b.client.do(ctx, http.MethodGet, "/v2.0/networks?"+url.Values{"name": {name}}.Encode(), nil)
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

// addListExtras sets the items and bytes extras from the last successful
// list response body, if there was one.
func (r *Result) addListExtras(collection string, body *[]byte) {
	if body == nil {
		return
	}
	r.Bytes = new(int64(len(*body)))
	n, err := countItems(*body, collection)
	if err != nil {
		r.fail(err.Error())
		return
	}
	r.Items = new(n)
}

// mixedReadMostly measures a read-mostly mix: 90% reads (show and filtered
// list, half each), 5% updates and 5% create+delete pairs.
func (b *bench) mixedReadMostly(ctx context.Context) {
	if err := errors.Join(b.ensurePool(ctx), b.ensureFilterTargets(ctx)); err != nil {
		b.fail(ctx, scMixedReadMostly, 0, err)
		return
	}
	b.forEachConcurrency(ctx, func(c int) {
		b.out.emit(b.measure(ctx, scMixedReadMostly, c, b.opsPerRun(), b.mixedOp))
	})
}

// mixedOp performs operation seq of the read-mostly mix. Of every 20
// consecutive operations, 9 are shows, 9 are filtered lists, 1 is an update
// and 1 is a create followed by a delete (timed as one operation).
func (b *bench) mixedOp(ctx context.Context, seq int) error {
	cycle, slot := seq/20, seq%20
	switch {
	case slot == 18:
		return b.client.updateNetworkName(ctx, b.pool[cycle%len(b.pool)].ID, b.names.next("net"))
	case slot == 19:
		n, err := b.client.createNetwork(ctx, b.names.next("mix"))
		if err != nil {
			return err
		}
		b.tracker.add("networks", n.ID)
		if err := b.client.deleteResource(ctx, "networks", n.ID); err != nil {
			return err
		}
		b.tracker.remove("networks", n.ID)
		return nil
	case slot%2 == 0:
		return b.client.showResource(ctx, "networks", b.pool[(cycle*9+slot/2)%len(b.pool)].ID)
	default:
		_, err := b.filterByName(ctx, b.filterTargets[(cycle*9+slot/2)%len(b.filterTargets)].Name)
		return err
	}
}

// subnetCreate measures POST /v2.0/subnets, spreading /24 subnets with
// distinct CIDRs from 10.128.0.0/9 over a set of networks.
func (b *bench) subnetCreate(ctx context.Context) {
	if !b.supported(ctx, scSubnetCreate, "subnets") {
		return
	}
	if err := b.loadTakenCIDRs(ctx); err != nil {
		b.fail(ctx, scSubnetCreate, 0, err)
		return
	}
	if len(b.subnetNets) == 0 {
		nets, err := b.createNetworks(ctx, "sn", subnetNetworkCount)
		if err != nil {
			b.fail(ctx, scSubnetCreate, 0, fmt.Errorf("prepare networks for subnets: %w", err))
			return
		}
		b.subnetNets = nets
	}
	b.forEachConcurrency(ctx, func(c int) {
		b.out.emit(b.measure(ctx, scSubnetCreate, c, b.opsPerRun(), func(ctx context.Context, seq int) error {
			cidr, err := b.nextSubnetCIDR()
			if err != nil {
				return err
			}
			id, err := b.client.createSubnet(ctx, b.subnetNets[seq%len(b.subnetNets)].ID, b.names.next("subnet"), cidr)
			if err != nil {
				return err
			}
			b.tracker.add("subnets", id)
			return nil
		}))
	})
}

// nextSubnetCIDR returns a /24 from 10.128.0.0/9 not handed out before and
// not overlapping a subnet that existed before the run.
func (b *bench) nextSubnetCIDR() (string, error) {
	for {
		i := b.subnetSeq.Add(1) - 1
		if i >= 128*256 {
			return "", errors.New("subnet-create ran out of free /24 CIDRs in 10.128.0.0/9")
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(128 + i/256), byte(i % 256), 0}), 24)
		if !b.cidrTaken(p) {
			return p.String(), nil
		}
	}
}

// portCreate measures POST /v2.0/ports on a network with a 10.x.0.0/16
// subnet, so every port gets an address allocated.
func (b *bench) portCreate(ctx context.Context) {
	if !b.supported(ctx, scPortCreate, "subnets", "ports") {
		return
	}
	if err := b.ensurePortNetwork(ctx); err != nil {
		b.fail(ctx, scPortCreate, 0, err)
		return
	}
	b.forEachConcurrency(ctx, func(c int) {
		b.out.emit(b.measure(ctx, scPortCreate, c, b.opsPerRun(), func(ctx context.Context, _ int) error {
			id, err := b.client.createPort(ctx, b.portNet.ID, b.names.next("port"))
			if err != nil {
				return err
			}
			b.tracker.add("ports", id)
			return nil
		}))
	})
}

// portShow measures GET /v2.0/ports/{id}, cycling over up to 100 ports
// the endpoint lists, made on the port network if it lists none. Against
// `loadgen -floor` (a trivial server answering every GET with one port)
// it measures the HTTP floor the same way.
func (b *bench) portShow(ctx context.Context) {
	if !b.supported(ctx, scPortShow, "ports") {
		return
	}
	var ids []string
	_, err := b.scan(ctx, "ports", []string{"id"}, func(raw json.RawMessage) error {
		var p idOnly
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		if p.ID != "" && len(ids) < 100 {
			ids = append(ids, p.ID)
		}
		return nil
	})
	if err == nil && len(ids) == 0 {
		if err = b.ensurePortNetwork(ctx); err == nil {
			names := make([]string, 100)
			for i := range names {
				names[i] = b.names.next("port")
			}
			ids, err = b.client.bulkCreatePorts(ctx, b.portNet.ID, names)
			for _, id := range ids {
				b.tracker.add("ports", id)
			}
		}
	}
	if err != nil {
		b.fail(ctx, scPortShow, 0, fmt.Errorf("prepare ports to show: %w", err))
		return
	}
	b.forEachConcurrency(ctx, func(c int) {
		b.out.emit(b.measure(ctx, scPortShow, c, b.opsPerRun(), func(ctx context.Context, seq int) error {
			return b.client.showResource(ctx, "ports", ids[seq%len(ids)])
		}))
	})
}

// ensurePortNetwork creates the network and /16 subnet ports are made on.
// The subnet is the first 10.x.0.0/16 (x below 128, starting from a random
// one) that overlaps no subnet listed before the run and that the endpoint
// accepts; an overlap the listing did not show (another project's subnet)
// moves on to the next x.
func (b *bench) ensurePortNetwork(ctx context.Context) error {
	if b.portNet != nil {
		return nil
	}
	if err := b.loadTakenCIDRs(ctx); err != nil {
		return err
	}
	nets, err := b.createNetworks(ctx, "port-net", 1)
	if err != nil {
		return fmt.Errorf("prepare network for ports: %w", err)
	}
	var lastErr error
	for i := range 128 {
		x := (b.portOctet + i) % 128
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(x), 0, 0}), 16)
		if b.cidrTaken(p) {
			continue
		}
		id, err := b.client.createSubnet(ctx, nets[0].ID, b.names.next("port-subnet"), p.String())
		if statusOf(err) == http.StatusBadRequest && strings.Contains(err.Error(), "overlap") {
			lastErr = err
			continue
		}
		if err != nil {
			return fmt.Errorf("prepare subnet %s for ports: %w", p, err)
		}
		b.tracker.add("subnets", id)
		b.portNet = &nets[0]
		b.portCIDR = p
		return nil
	}
	if lastErr == nil {
		lastErr = errors.New("every 10.x.0.0/16 below 10.128.0.0 overlaps an existing subnet")
	}
	return fmt.Errorf("prepare subnet for ports: %w", lastErr)
}

// portLists runs the selected port list scenarios at each port
// prepopulation level, smallest first, growing the number of ports the
// endpoint lists before each level. Level 0 adds no ports: the scenarios
// list whatever exists (the ports of port-create, if it ran).
func (b *bench) portLists(ctx context.Context) {
	var selected []string
	for _, s := range []string{scPortListFull, scPortListPaged} {
		if b.want[s] && b.supported(ctx, s, "ports") {
			selected = append(selected, s)
		}
	}
	if len(selected) == 0 {
		return
	}
	b.atLevels(ctx, b.cfg.portLevels, b.prepopulatePorts, selected, func(s string, c int) Result {
		if s == scPortListPaged {
			return b.listPaged(ctx, s, "ports", c)
		}
		return b.listFull(ctx, s, "ports", c)
	})
}

// prepopulatePorts creates ports on the port network until the endpoint
// lists at least target, with bulk POST {"ports": [...]} requests of
// portBatchSize if the endpoint accepts them, one by one otherwise.
func (b *bench) prepopulatePorts(ctx context.Context, target int) error {
	if target == 0 {
		return nil
	}
	have, err := b.count(ctx, "ports")
	if err != nil {
		return fmt.Errorf("prepopulate to %d ports: %w", target, err)
	}
	if have >= target {
		if have > target {
			b.log.Printf("setup: endpoint already lists %d ports, more than the %d asked for", have, target)
		}
		return nil
	}
	if err := b.ensurePortNetwork(ctx); err != nil {
		return fmt.Errorf("prepopulate to %d ports: %w", target, err)
	}
	missing := target - have
	// Less the network, gateway and broadcast addresses (and the addresses
	// earlier ports took, which the server will point out).
	if free := 1<<(32-b.portCIDR.Bits()) - 3; missing > free {
		return fmt.Errorf("prepopulate to %d ports: %d more do not fit in the port subnet %s", target, missing, b.portCIDR)
	}
	names := make([]string, missing)
	for i := range names {
		names[i] = b.names.next("pop-port")
	}
	start := time.Now()
	b.log.Printf("setup: creating %d ports", missing)
	_, err = createBatched(ctx, b, batchCreate[string]{
		what:      "ports",
		mode:      &b.portBulk,
		batchSize: portBatchSize,
		bulk: func(ctx context.Context, names []string) ([]string, error) {
			return b.client.bulkCreatePorts(ctx, b.portNet.ID, names)
		},
		single: func(ctx context.Context, name string) (string, error) {
			return b.client.createPort(ctx, b.portNet.ID, name)
		},
		track: func(ids []string) {
			for _, id := range ids {
				b.tracker.add("ports", id)
			}
		},
	}, names)
	if err != nil {
		return fmt.Errorf("prepopulate to %d ports: create %d ports: %w", target, missing, err)
	}
	b.log.Printf("setup: created %d ports in %s", missing, time.Since(start).Round(time.Millisecond))
	return nil
}
