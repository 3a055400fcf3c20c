package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// config holds the parsed command-line flags.
type config struct {
	endpoint    string
	endpointSet bool // whether -endpoint was given explicitly
	token       string
	project     string
	keystone    keystoneConfig
	scenarios   []string
	floor       string // address to serve the trivial floor server on; no scenarios run
	floorList   string // file holding the floor server's reply to a listing
	ops         int
	concurrency []int
	prepopulate []int // network counts of the network list scenarios
	portLevels  []int // port counts of the port list scenarios; 0 lists whatever exists
	duration    time.Duration
	timeout     time.Duration
	cleanup     bool
}

// maxConcurrency returns the largest number of requests the run may have in
// flight at once, which sizes the connection pool.
func (c config) maxConcurrency() int {
	n := max(setupConcurrency, cleanupConcurrency, bulkConcurrency)
	for _, v := range c.concurrency {
		n = max(n, v)
	}
	return n
}

// parseFlags parses args into a config, writing usage text to stderr.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var (
		cfg                                             config
		scenarios, concurrency, prepopulate, portLevels string
	)
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./bench/loadgen [flags]\n\nScenarios: %s\n\nFlags:\n", strings.Join(allScenarios, ", "))
		fs.PrintDefaults()
	}
	fs.StringVar(&cfg.endpoint, "endpoint", "http://127.0.0.1:9696", "Neutron API endpoint, with or without the /v2.0 suffix")
	fs.StringVar(&cfg.token, "token", "", "token sent as X-Auth-Token; without it requests carry no auth header (noauth)")
	fs.StringVar(&cfg.project, "project", "", "project ID sent as X-Project-Id when no token is used (noauth endpoints)")
	fs.StringVar(&cfg.keystone.url, "keystone-url", "", "Keystone URL (e.g. http://keystone:5000 or .../identity/v3); enables v3 password authentication")
	fs.StringVar(&cfg.keystone.username, "username", "", "Keystone user name")
	fs.StringVar(&cfg.keystone.password, "password", "", "Keystone password (default: $OS_PASSWORD)")
	fs.StringVar(&cfg.keystone.projectName, "project-name", "", "Keystone project name to scope the token to")
	fs.StringVar(&cfg.keystone.domain, "domain", "Default", "Keystone domain name of both the user and the project")
	fs.StringVar(&scenarios, "scenarios", "all", "comma-separated scenarios to run, or \"all\"")
	fs.IntVar(&cfg.ops, "n", 500, "operations per measured run (with -duration: size of the network-delete pool)")
	fs.StringVar(&concurrency, "concurrency", "1,16", "comma-separated concurrency levels; every scenario runs at each")
	fs.StringVar(&prepopulate, "prepopulate", "1000", "comma-separated network counts the network list scenarios run at")
	fs.StringVar(&portLevels, "prepopulate-ports", "0", "comma-separated port counts the port list scenarios run at (0: whatever ports exist)")
	fs.DurationVar(&cfg.duration, "duration", 0, "run each measurement for this long instead of -n operations")
	fs.DurationVar(&cfg.timeout, "timeout", 2*time.Minute, "timeout of each HTTP request")
	fs.BoolVar(&cfg.cleanup, "cleanup", true, "delete everything the run created when it ends")
	fs.StringVar(&cfg.floorList, "floor-list", "", "file holding the reply the floor server gives every listing, e.g. a saved GET /v2.0/ports of the server under test (default: one port)")
	fs.StringVar(&cfg.floor, "floor", "", "serve a trivial HTTP server answering every GET with one port on this address (the limit port-show is compared with) instead of running scenarios")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "endpoint" {
			cfg.endpointSet = true
		}
	})
	if cfg.keystone.password == "" {
		cfg.keystone.password = os.Getenv("OS_PASSWORD")
	}

	var err error
	if cfg.scenarios, err = parseScenarios(scenarios); err != nil {
		return config{}, fmt.Errorf("-scenarios: %w", err)
	}
	if cfg.concurrency, err = parseIntList(concurrency, 1); err != nil {
		return config{}, fmt.Errorf("-concurrency: %w", err)
	}
	if cfg.prepopulate, err = parseIntList(prepopulate, 0); err != nil {
		return config{}, fmt.Errorf("-prepopulate: %w", err)
	}
	if cfg.portLevels, err = parseIntList(portLevels, 0); err != nil {
		return config{}, fmt.Errorf("-prepopulate-ports: %w", err)
	}
	if cfg.ops < 1 {
		return config{}, errors.New("-n must be at least 1")
	}
	if cfg.duration < 0 {
		return config{}, errors.New("-duration must not be negative")
	}
	if cfg.timeout <= 0 {
		return config{}, errors.New("-timeout must be positive")
	}
	if err := cfg.keystone.validate(); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// parseScenarios turns a comma-separated list of scenario names (or "all")
// into the selected names, in the order they will run.
func parseScenarios(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" || strings.TrimSpace(s) == "all" {
		return slices.Clone(allScenarios), nil
	}
	want := make(map[string]bool)
	for name := range strings.SplitSeq(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(allScenarios, name) {
			return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(allScenarios, ", "))
		}
		want[name] = true
	}
	if len(want) == 0 {
		return nil, errors.New("no scenarios selected")
	}
	var out []string
	for _, name := range allScenarios {
		if want[name] {
			out = append(out, name)
		}
	}
	return out, nil
}

// parseIntList parses a comma-separated list of integers, each at least min.
func parseIntList(s string, minValue int) ([]int, error) {
	var out []int
	for field := range strings.SplitSeq(s, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		v, err := strconv.Atoi(field)
		if err != nil {
			return nil, fmt.Errorf("parse %q: %w", field, err)
		}
		if v < minValue {
			return nil, fmt.Errorf("value %d is below the minimum %d", v, minValue)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, errors.New("empty list")
	}
	return out, nil
}
