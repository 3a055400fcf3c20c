package main

import (
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/neutrino-net/neutrino/internal/metrics"
)

// The binary's metrics include the Go runtime's and the process's (memory,
// goroutines, CPU, file descriptors), for the server and the agent alike.
// They are registered here because their package links database/sql,
// which the API and agent packages must not.
func init() {
	metrics.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}
