package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	mathrand "math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Sizes and concurrency of the untimed setup work.
const (
	poolSize           = 100  // networks targeted by show, update and the mix
	filterTargetCount  = 10   // networks whose names the filtered lists query
	subnetNetworkCount = 100  // networks the subnet-create subnets spread over
	bulkBatchSize      = 100  // networks per bulk create request
	portBatchSize      = 500  // ports per bulk create request
	bulkConcurrency    = 4    // bulk create requests in flight during setup
	setupConcurrency   = 16   // single create requests in flight during setup
	cleanupConcurrency = 16   // DELETE requests in flight during cleanup
	listPageSize       = 100  // limit used by network-list-paged and port-list-paged
	scanPageSize       = 1000 // limit used to count networks and find leftovers
)

// bulkMode records whether the endpoint accepts bulk creates.
type bulkMode int32

const (
	bulkUnknown bulkMode = iota
	bulkYes
	bulkNo
)

// namer hands out unique resource names that all share the run's prefix,
// bench-<random>-, so that cleanup and name filters only ever match
// resources of this run.
type namer struct {
	prefix string
	seq    atomic.Int64
}

// newNamer returns a namer with a fresh random prefix.
func newNamer() *namer {
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return &namer{prefix: "bench-" + hex.EncodeToString(b[:]) + "-"}
}

// next returns a new name such as bench-1a2b3c4d-net-000042.
func (n *namer) next(kind string) string {
	return fmt.Sprintf("%s%s-%06d", n.prefix, kind, n.seq.Add(1))
}

// bench holds the state shared by the scenarios of one run. Scenarios run
// one after another; only the operations inside a measured run are
// concurrent.
type bench struct {
	cfg     config
	client  *Client
	out     *reporter
	log     *log.Logger
	names   *namer
	tracker *tracker
	want    map[string]bool // selected scenarios

	bulk     atomic.Int32 // a bulkMode, for networks
	portBulk atomic.Int32 // a bulkMode, for ports

	mu      sync.Mutex
	created []network // networks made by network-create, guarded by mu

	pool          []network    // targets of show, update and the mix
	filterTargets []network    // networks looked up by name
	subnetNets    []network    // networks that subnet-create adds subnets to
	portNet       *network     // network with a /16 subnet for port-create and port prepopulation
	portCIDR      netip.Prefix // the CIDR of portNet's subnet
	probes        map[string]error
	subnetSeq     atomic.Int64
	portOctet     int            // first x tried for the 10.x.0.0/16 port subnet
	taken         []netip.Prefix // CIDRs of the subnets that existed before the run
	l3Ext         string         // external network of the floatingip scenario
	l3Interfaces  []l3Slot       // router interfaces to remove at cleanup
	takenLoaded   bool
}

// newBench prepares a run of cfg's scenarios against client.
func newBench(cfg config, client *Client, out *reporter, logger *log.Logger) *bench {
	b := &bench{
		cfg:       cfg,
		client:    client,
		out:       out,
		log:       logger,
		names:     newNamer(),
		tracker:   newTracker(),
		want:      make(map[string]bool),
		probes:    make(map[string]error),
		portOctet: mathrand.IntN(128), // 10.128.0.0/9 is left to subnet-create
	}
	for _, s := range cfg.scenarios {
		b.want[s] = true
	}
	return b
}

// opsPerRun returns the operation limit of an ordinary measured run: -n, or
// no limit when -duration bounds the run instead.
func (b *bench) opsPerRun() int {
	if b.cfg.duration > 0 {
		return 0
	}
	return b.cfg.ops
}

// measure runs op at concurrency c under the configured load, capped at
// maxOps operations (0 for no cap), and returns the report line.
func (b *bench) measure(ctx context.Context, scenario string, c, maxOps int, op opFunc) Result {
	m := runLoad(ctx, load{concurrency: c, ops: maxOps, duration: b.cfg.duration}, op)
	return newResult(scenario, c, m)
}

// fail emits a failed line for a run that could not be measured.
func (b *bench) fail(ctx context.Context, scenario string, c int, err error) {
	r := Result{Scenario: scenario, Concurrency: c}
	if ctx.Err() != nil {
		r.fail("interrupted")
	} else {
		r.fail(err.Error())
	}
	b.out.emit(r)
}

// supported probes each collection with GET /v2.0/<collection> once per run.
// If the endpoint answers 404 it emits an "unsupported" line for scenario;
// on any other error it emits a "failed" line. It reports whether the
// scenario can run.
func (b *bench) supported(ctx context.Context, scenario string, collections ...string) bool {
	for _, coll := range collections {
		err, probed := b.probes[coll]
		if !probed {
			_, err = b.client.do(ctx, http.MethodGet, "/v2.0/"+coll+"?limit=1", nil)
			b.probes[coll] = err
		}
		switch {
		case err == nil:
		case statusOf(err) == http.StatusNotFound:
			b.out.emit(Result{Scenario: scenario, Status: statusUnsupported})
			return false
		default:
			b.fail(ctx, scenario, 0, fmt.Errorf("probe %s: %w", coll, err))
			return false
		}
	}
	return true
}

// collectionSupported reports whether a probe found collection, so that
// cleanup knows which collections may hold leftovers of this run.
func (b *bench) collectionSupported(coll string) bool {
	err, probed := b.probes[coll]
	return probed && err == nil
}

// createNetworks creates count networks named after kind, outside of any
// measurement, using bulk requests when the endpoint supports them and
// single requests otherwise. Every network created is tracked for cleanup,
// including those created before an error.
func (b *bench) createNetworks(ctx context.Context, kind string, count int) ([]network, error) {
	if count <= 0 {
		return nil, nil
	}
	names := make([]string, count)
	for i := range names {
		names[i] = b.names.next(kind)
	}
	start := time.Now()
	if count > bulkBatchSize {
		b.log.Printf("setup: creating %d networks", count)
	}
	nets, err := b.createNamedNetworks(ctx, names)
	if err != nil {
		return nets, fmt.Errorf("create %d %s networks: %w", count, kind, err)
	}
	if count > bulkBatchSize {
		b.log.Printf("setup: created %d networks in %s", count, time.Since(start).Round(time.Millisecond))
	}
	return nets, nil
}

// createNamedNetworks creates one network per name; see createNetworks.
func (b *bench) createNamedNetworks(ctx context.Context, names []string) ([]network, error) {
	return createBatched(ctx, b, batchCreate[network]{
		what:      "networks",
		mode:      &b.bulk,
		batchSize: bulkBatchSize,
		bulk:      b.client.bulkCreateNetworks,
		single:    b.client.createNetwork,
		track:     b.trackNetworks,
	}, names)
}

// batchCreate describes how to create resources of one kind during setup:
// in bulk requests of batchSize, or one by one if the endpoint refuses bulk
// requests.
type batchCreate[T any] struct {
	what      string        // plural noun for messages, e.g. "ports"
	mode      *atomic.Int32 // a bulkMode, shared by every setup of this kind
	batchSize int
	bulk      func(ctx context.Context, names []string) ([]T, error)
	single    func(ctx context.Context, name string) (T, error)
	track     func([]T) // records created resources for cleanup
}

// createBatched creates one resource per name. The first bulk request
// doubles as the probe for bulk support; its answer is remembered in
// spec.mode. Bulk requests go out bulkConcurrency at a time, single ones
// setupConcurrency at a time. Every resource created is tracked, including
// those created before an error.
func createBatched[T any](ctx context.Context, b *bench, spec batchCreate[T], names []string) ([]T, error) {
	var created []T
	if bulkMode(spec.mode.Load()) == bulkUnknown {
		batch := names[:min(spec.batchSize, len(names))]
		items, err := spec.bulk(ctx, batch)
		spec.track(items)
		switch {
		case err == nil:
			spec.mode.Store(int32(bulkYes))
			created = append(created, items...)
			names = names[len(batch):]
		case bulkUnsupported(err):
			spec.mode.Store(int32(bulkNo))
			b.log.Printf("setup: bulk create not supported (%v); creating %s one by one", err, spec.what)
		default:
			return nil, fmt.Errorf("bulk create: %w", err)
		}
	}
	if len(names) == 0 {
		return created, nil
	}

	var (
		mu          sync.Mutex
		requests    int
		concurrency int
		create      func(ctx context.Context, i int) ([]T, error)
	)
	if bulkMode(spec.mode.Load()) == bulkYes {
		batches := slices.Collect(slices.Chunk(names, spec.batchSize))
		requests, concurrency = len(batches), bulkConcurrency
		create = func(ctx context.Context, i int) ([]T, error) {
			return spec.bulk(ctx, batches[i])
		}
	} else {
		requests, concurrency = len(names), setupConcurrency
		create = func(ctx context.Context, i int) ([]T, error) {
			item, err := spec.single(ctx, names[i])
			if err != nil {
				return nil, err
			}
			return []T{item}, nil
		}
	}
	m := runLoad(ctx, load{concurrency: concurrency, ops: requests}, func(ctx context.Context, i int) error {
		items, err := create(ctx, i)
		spec.track(items)
		mu.Lock()
		created = append(created, items...)
		mu.Unlock()
		return err
	})
	switch {
	case m.interrupted:
		return created, ctx.Err()
	case m.errors > 0:
		return created, fmt.Errorf("%d of %d create requests failed, first: %w", m.errors, requests, m.firstErr)
	}
	return created, nil
}

// trackNetworks records networks for cleanup.
func (b *bench) trackNetworks(nets []network) {
	for _, n := range nets {
		b.tracker.add("networks", n.ID)
	}
}

// ensurePool makes sure poolSize networks exist for show, update and the
// mix, reusing the ones network-create made and creating the rest.
func (b *bench) ensurePool(ctx context.Context) error {
	if len(b.pool) >= poolSize {
		return nil
	}
	b.mu.Lock()
	pool := slices.Clone(b.created[:min(poolSize, len(b.created))])
	b.mu.Unlock()
	more, err := b.createNetworks(ctx, "net", poolSize-len(pool))
	if err != nil {
		return fmt.Errorf("prepare networks to read and update: %w", err)
	}
	b.pool = append(pool, more...)
	return nil
}

// ensureFilterTargets makes sure the networks whose names the filtered list
// queries exist. No scenario renames or deletes them, so each name query
// matches exactly one network.
func (b *bench) ensureFilterTargets(ctx context.Context) error {
	if len(b.filterTargets) > 0 {
		return nil
	}
	nets, err := b.createNetworks(ctx, "filter", filterTargetCount)
	if err != nil {
		return fmt.Errorf("prepare networks to filter by name: %w", err)
	}
	b.filterTargets = nets
	return nil
}

// prepopulate creates networks until the endpoint lists at least target.
func (b *bench) prepopulate(ctx context.Context, target int) error {
	have, err := b.countNetworks(ctx)
	if err != nil {
		return fmt.Errorf("prepopulate to %d networks: %w", target, err)
	}
	if have >= target {
		if have > target {
			b.log.Printf("setup: endpoint already lists %d networks, more than the %d asked for", have, target)
		}
		return nil
	}
	if _, err := b.createNetworks(ctx, "pop", target-have); err != nil {
		return fmt.Errorf("prepopulate to %d networks: %w", target, err)
	}
	return nil
}

// countNetworks returns how many networks the endpoint lists.
func (b *bench) countNetworks(ctx context.Context) (int, error) {
	return b.count(ctx, "networks")
}

// count returns how many items of collection the endpoint lists.
func (b *bench) count(ctx context.Context, collection string) (int, error) {
	st, err := b.scan(ctx, collection, nil, nil)
	return st.items, err
}

// scan lists a whole collection in large pages, asking only for the given
// fields (ids and names if none are given). If the endpoint rejects those
// query parameters (400), it retries with a plain listing.
func (b *bench) scan(ctx context.Context, collection string, fields []string, visit func(json.RawMessage) error) (walkStats, error) {
	if len(fields) == 0 {
		fields = []string{"id", "name"}
	}
	q := url.Values{"fields": fields, "limit": {fmt.Sprint(scanPageSize)}}
	st, err := b.client.walk(ctx, collection, q, visit)
	if statusOf(err) == http.StatusBadRequest && st.pages == 0 {
		st, err = b.client.walk(ctx, collection, nil, visit)
	}
	return st, err
}

// loadTakenCIDRs records, once per run, the CIDRs of the subnets the
// endpoint lists, so that the subnets the run makes avoid them: with
// Neutron's default allow_overlapping_ips = false a subnet may not overlap
// any other, on any network.
func (b *bench) loadTakenCIDRs(ctx context.Context) error {
	if b.takenLoaded {
		return nil
	}
	var taken []netip.Prefix
	_, err := b.scan(ctx, "subnets", []string{"id", "cidr"}, func(raw json.RawMessage) error {
		var item struct {
			CIDR *string `json:"cidr"`
		}
		if err := json.Unmarshal(raw, &item); err != nil {
			return fmt.Errorf("decode subnets item: %w", err)
		}
		if item.CIDR == nil {
			return nil
		}
		p, err := netip.ParsePrefix(*item.CIDR)
		if err != nil {
			return fmt.Errorf("subnet cidr %q: %w", *item.CIDR, err)
		}
		taken = append(taken, p.Masked())
		return nil
	})
	if err != nil {
		return fmt.Errorf("list the subnets that exist: %w", err)
	}
	b.taken, b.takenLoaded = taken, true
	return nil
}

// cidrTaken reports whether p overlaps a subnet that existed before the run.
func (b *bench) cidrTaken(p netip.Prefix) bool {
	return slices.ContainsFunc(b.taken, p.Overlaps)
}
