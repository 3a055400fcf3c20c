// Command loadgen drives a Neutron-compatible REST API (Neutrino or a real
// OpenStack Neutron) with a fixed set of scenarios and prints one JSON line
// per measured run to standard output.
//
// Progress and warnings go to standard error, so standard output can be
// redirected straight into a results file. See bench/README.md for usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "loadgen: %v\n", err)
		os.Exit(1)
	}
}

// run parses args, runs the selected scenarios against the endpoint, cleans
// up, and returns an error if the run could not be completed as asked.
func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logger := log.New(stderr, "loadgen: ", log.LstdFlags|log.Lmsgprefix)
	if cfg.floor != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		var list []byte
		if cfg.floorList != "" {
			if list, err = os.ReadFile(cfg.floorList); err != nil {
				return fmt.Errorf("floor: %w", err)
			}
		}
		return serveFloor(ctx, cfg.floor, list, func(a net.Addr) { logger.Printf("floor server on %s", a) })
	}

	// The first interrupt stops the scenarios; cleanup still runs with its
	// own context, which a second interrupt cancels.
	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()
	cleanupCtx, cancelCleanup := context.WithCancel(context.Background())
	defer cancelCleanup()
	stopSignals := watchSignals(logger, cancelRun, cancelCleanup)
	defer stopSignals()

	hc := newHTTPClient(cfg.maxConcurrency(), cfg.timeout)
	endpoint, token := cfg.endpoint, cfg.token
	if cfg.keystone.enabled() {
		auth, err := fetchKeystoneToken(runCtx, hc, cfg.keystone)
		if err != nil {
			return err
		}
		if token != "" {
			logger.Print("both -token and -keystone-url given; using the Keystone token")
		}
		token = auth.token
		if !cfg.endpointSet && auth.networkURL != "" {
			endpoint = auth.networkURL
			logger.Printf("using network endpoint %s from the Keystone catalog", endpoint)
		}
	}
	client, err := newClient(endpoint, hc, token, cfg.project)
	if err != nil {
		return err
	}
	if err := client.checkReachable(runCtx); err != nil {
		return err
	}

	b := newBench(cfg, client, newReporter(stdout), logger)
	logger.Printf("endpoint %s, resource name prefix %q", client.base, b.names.prefix)
	b.runAll(runCtx)

	var errs []error
	if err := b.out.err(); err != nil {
		errs = append(errs, fmt.Errorf("write results: %w", err))
	}
	if runCtx.Err() != nil {
		errs = append(errs, errors.New("interrupted"))
	} else if n := b.out.failures(); n > 0 {
		errs = append(errs, fmt.Errorf("%d scenario run(s) failed", n))
	}
	if cfg.cleanup {
		if err := b.cleanup(cleanupCtx); err != nil {
			errs = append(errs, err)
		}
	} else {
		logger.Printf("cleanup disabled; resources named %q are left behind", b.names.prefix+"*")
	}
	return errors.Join(errs...)
}

// watchSignals cancels cancelRun on the first SIGINT or SIGTERM and
// cancelCleanup on the second. The returned function stops watching.
func watchSignals(logger *log.Logger, cancelRun, cancelCleanup context.CancelFunc) (stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			logger.Print("interrupted: stopping scenarios (interrupt again to skip cleanup)")
			cancelRun()
		case <-done:
			return
		}
		select {
		case <-ch:
			logger.Print("interrupted again: abandoning cleanup")
			cancelCleanup()
		case <-done:
		}
	}()
	return func() {
		signal.Stop(ch)
		close(done)
	}
}
