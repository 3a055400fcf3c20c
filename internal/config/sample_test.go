package config

import (
	"bytes"
	"flag"
	"os"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// sampleRegistry declares one of everything the sample format shows.
func sampleRegistry() *Registry {
	r := NewRegistry()
	// Registered before DEFAULT options: DEFAULT must still come first.
	r.String("database", "connection", "", "The SQLAlchemy connection string to use to connect to the database.").Secret()
	r.Int("database", "max_retries", 10, "Maximum number of database connection retries during startup. Set to -1 to specify an infinite retry count.").Min(-1)
	r.String("DEFAULT", "state_path", "/var/lib/neutron", "Where to store Neutron state files. This directory must be writable by the agent.")
	r.String("DEFAULT", "host", "example.domain", "Hostname to be used by the Neutron server, agents and services running on this machine.")
	r.Port("DEFAULT", "bind_port", 9696, "The port to bind to")
	r.Bool("DEFAULT", "debug", false, "")
	r.List("DEFAULT", "service_plugins", []string{"router", "segments"}, "The service plugins Neutron will use")
	r.List("DEFAULT", "api_extensions", nil, "Extensions to load.")
	r.MultiString("DEFAULT", "config_hooks", nil, "Hooks run at startup.\n\nOne per line; every occurrence adds a hook.")
	r.MultiString("DEFAULT", "notify_targets", []string{"a", " spaced "}, "Notification targets.")
	r.String("DEFAULT", "banner", "  hi  ", "A default with surrounding spaces is quoted.")
	r.String("DEFAULT", "motd", "line one\nline two", "A multi-line default.")
	r.NoEffect("DEFAULT", "api_extensions_path", "extensions are built in")
	r.Float("agent", "report_ratio", 0.5, "Ratio.").Range(0, 1)
	r.String("agent", "agent_mode", "legacy", "The working mode for the agent.").Choices("legacy", "dvr", "dvr_snat", "")
	r.Int("oslo_middleware", "max_request_body_size", 114688, "The maximum body size for each request, in bytes.").
		DeprecatedName("DEFAULT", "osapi_max_request_body_size").
		DeprecatedName("DEFAULT", "max_request_body_size")
	r.NoEffectSection("keystone_authtoken", "not used")
	return r
}

func TestWriteSample(t *testing.T) {
	const golden = "testdata/sample.golden"
	var buf bytes.Buffer
	if err := sampleRegistry().WriteSample(&buf); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got := buf.String(); got != string(want) {
		t.Errorf("WriteSample differs from %s (run go test -update to accept):\n%s", golden, got)
	}
}

// TestSampleRoundTrip checks that uncommenting the sample's option lines
// gives a file that loads to the defaults, which is the point of a sample.
func TestSampleRoundTrip(t *testing.T) {
	r := sampleRegistry()
	var buf bytes.Buffer
	if err := r.WriteSample(&buf); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(buf.Bytes(), []byte("\n")) {
		switch {
		case bytes.HasPrefix(line, []byte("#    ")):
			out.Write(line[1:]) // continuation of a multi-line default
		case bytes.HasPrefix(line, []byte("#")) && !bytes.HasPrefix(line, []byte("# ")) && bytes.Contains(line, []byte(" =")):
			out.Write(line[1:])
		default:
			out.Write(line)
		}
	}
	path := t.TempDir() + "/sample.conf"
	if err := os.WriteFile(path, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := r.Load([]string{path}, nil, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.Bytes())
	}
	d := r.Defaults()
	for _, o := range r.opts {
		got, want := c.values[o.opt()].v, d.values[o.opt()].v
		if o.Name() == "config_hooks" {
			// An empty MultiString default is written as
			// "name =", which reads back as one empty value.
			continue
		}
		if !equalValues(got, want) {
			t.Errorf("[%s] %s: round trip gives %#v; default is %#v", o.Section(), o.Name(), got, want)
		}
	}
}

func equalValues(a, b any) bool {
	if as, ok := a.([]string); ok {
		bs, ok := b.([]string)
		return ok && slices.Equal(as, bs)
	}
	return a == b
}
