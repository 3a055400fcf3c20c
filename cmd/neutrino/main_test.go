package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/neutrino-net/neutrino/internal/testenv/pgtest"
)

// bin is the neutrino binary under test, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	flag.Parse() // for testing.Verbose
	dir, err := os.MkdirTemp("", "neutrino-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "neutrino")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building neutrino: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	if testing.Verbose() {
		fmt.Fprintf(os.Stderr, "built %s in %v (race=%v)\n", bin, time.Since(start).Round(time.Millisecond), raceEnabled)
	}
	code := pgtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is a finished neutrino run.
type result struct {
	code           int
	stdout, stderr string
}

// isolatedEnv keeps the binary away from the real home and data
// directories.
func isolatedEnv(t *testing.T) []string {
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"))
	if raceEnabled {
		// A race makes the binary exit 66, failing the test; skip the
		// race runtime's one-second pause at every exit.
		env = append(env, "GORACE=atexit_sleep_ms=0 exitcode=66")
	}
	return env
}

// neutrino runs the binary to completion.
func neutrino(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = isolatedEnv(t)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	default:
		t.Fatalf("neutrino %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("neutrino %s: timed out; stderr:\n%s", strings.Join(args, " "), r.stderr)
	}
	return r
}

// writeConfig writes a configuration file into a fresh directory.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "neutron.conf")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		t.Run(arg, func(t *testing.T) {
			r := neutrino(t, arg)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, "neutrino ") || strings.Count(r.stdout, "\n") != 1 {
				t.Errorf("stdout %q, want one line \"neutrino VERSION\"", r.stdout)
			}
		})
	}
}

// TestUsageErrors checks that command-line mistakes exit non-zero with a
// message.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"db"}, "usage: neutrino db"},
		{[]string{"db", "downgrade", "--config-file", filepath.Join("testdata", "bad_bind_port.conf")}, "bind_port"},
		{[]string{"server", "--config-file"}, "--config-file needs a path"},
		{[]string{"server", "--config-file", filepath.Join("testdata", "missing.conf")}, "missing.conf"},
		{[]string{"config", "frobnicate"}, "usage: neutrino config generate-sample"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			r := neutrino(t, tt.args...)
			if r.code == 0 {
				t.Fatalf("exit 0; stdout %q", r.stdout)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", r.stderr, tt.want)
			}
		})
	}
}

// TestHelp checks that --help (and -h, and help COMMAND) print a command's
// usage and exit 0 without starting anything.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"--help"}, {"help"},
		{"server", "--help"}, {"all-in-one", "-h"}, {"agent", "--help"}, {"db", "--help"},
		{"db", "upgrade", "--help"}, {"config", "--help"}, {"policy", "-h"}, {"version", "--help"},
		{"server", "--config-file", filepath.Join("testdata", "missing.conf"), "--help"}, {"help", "server"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			r := neutrino(t, args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			want := "usage: neutrino "
			if args[0] != "--help" && args[0] != "help" || len(args) == 2 {
				name := args[0]
				if name == "help" {
					name = args[1]
				}
				want += name
			}
			if !strings.HasPrefix(r.stdout, want) {
				t.Errorf("stdout %q does not start with %q", r.stdout, want)
			}
		})
	}
}

func TestDBUpgradeAndVersion(t *testing.T) {
	engines := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		// sqlite:////abs/path, as an operator would write it.
		{"sqlite", func(t *testing.T) string { return "sqlite:///" + filepath.Join(t.TempDir(), "db", "x.db") }},
		{"postgresql", func(t *testing.T) string { return pgtest.NewDatabase(t) }},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			dsn := e.dsn(t)
			if e.name == "sqlite" && !strings.HasPrefix(dsn, "sqlite:////") {
				t.Fatalf("want an absolute sqlite URL, got %q", dsn)
			}
			conf := writeConfig(t, "[database]\nconnection = "+dsn+"\n")

			r := neutrino(t, "db", "upgrade", "--config-file", conf)
			if r.code != 0 {
				t.Fatalf("first upgrade: exit %d: %s", r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, "applied ") || strings.HasPrefix(r.stdout, "applied 0 ") {
				t.Errorf("first upgrade printed %q, want some migrations applied", r.stdout)
			}
			version := strings.TrimSpace(r.stdout[strings.LastIndex(r.stdout, " ")+1:])
			if _, err := strconv.Atoi(version); err != nil {
				t.Fatalf("cannot find the schema version in %q", r.stdout)
			}

			r = neutrino(t, "db", "upgrade", "--config-file="+conf)
			if r.code != 0 || !strings.HasPrefix(r.stdout, "applied 0 migration(s); schema version "+version+"\n") {
				t.Errorf("second upgrade: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}

			r = neutrino(t, "db", "version", "--config-file", conf)
			if r.code != 0 || r.stdout != version+"\n" {
				t.Errorf("db version: exit %d, stdout %q (want %q), stderr %q", r.code, r.stdout, version+"\n", r.stderr)
			}
			if e.name == "sqlite" {
				if _, err := os.Stat(strings.TrimPrefix(dsn, "sqlite:///")); err != nil {
					t.Errorf("database file: %v", err)
				}
			}
		})
	}
}

// TestBadConfigRefused checks that every command reading the
// configuration refuses an invalid value, naming file, section and option.
func TestBadConfigRefused(t *testing.T) {
	bad, err := filepath.Abs(filepath.Join("testdata", "bad_bind_port.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"server", "--config-file", bad},
		{"all-in-one", "--config-file", bad},
		{"db", "upgrade", "--config-file", bad},
	} {
		t.Run(args[0]+"_"+args[1], func(t *testing.T) {
			r := neutrino(t, args...)
			if r.code == 0 {
				t.Fatalf("exit 0 with %s", bad)
			}
			for _, w := range []string{bad + ":3", "[DEFAULT]", "bind_port", `"abc"`} {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q does not mention %q", r.stderr, w)
				}
			}
		})
	}
}

// TestRefusedBeforeTouchingTheDatabase: a configuration refused for any
// reason — here an unsupported transport, a missing plugin, a bad driver
// name — stops the server naming the option before the database exists.
func TestRefusedBeforeTouchingTheDatabase(t *testing.T) {
	for _, tt := range []struct{ name, conf, option string }{
		{"transport", "[DEFAULT]\ntransport_url = kafka://x\n", "transport_url"},
		{"service plugin", "[DEFAULT]\nservice_plugins = router,no_such_plugin\n", "service_plugins"},
		{"mechanism driver", "[ml2]\nmechanism_drivers = openvswitch\n", "mechanism_drivers"},
		{"extension driver", "[ml2]\nextension_drivers = port_security,nosuch\n", "extension_drivers"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "neutrino.sqlite")
			conf := writeConfig(t, "[DEFAULT]\nauth_strategy = noauth\n[database]\nconnection = sqlite:///"+db+"\n"+tt.conf)
			r := neutrino(t, "server", "--config-file", conf)
			if r.code == 0 {
				t.Fatalf("exit 0 with %s", tt.conf)
			}
			if !strings.Contains(r.stderr, tt.option) {
				t.Errorf("stderr %q does not name %s", r.stderr, tt.option)
			}
			if _, err := os.Stat(db); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("database %s exists after the refusal (stat: %v)", db, err)
			}
		})
	}
}

// TestNoEffectOptionsLogged: an option Neutron has and Neutrino does not
// act on is logged once, naming file, section and option.
func TestNoEffectOptionsLogged(t *testing.T) {
	conf := writeConfig(t, "[DEFAULT]\nauth_strategy = noauth\napi_workers = 4\n[ovs]\nintegration_bridge = br-int\n"+
		"[ml2]\nextension_drivers = port_security,dns_domain_keywords\n")
	// The missing [database] connection stops the server right after the
	// configuration is read and checked: no database or port is needed.
	r := neutrino(t, "server", "--config-file", conf)
	for _, want := range []string{"line=5 section=ovs option=integration_bridge", "line=3 section=DEFAULT option=api_workers"} {
		n := 0
		for line := range strings.SplitSeq(r.stderr, "\n") {
			if strings.Contains(line, "config option has no effect in Neutrino") && strings.Contains(line, "file="+conf+" "+want) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q logged as having no effect %d times, want once: %q", want, n, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, "option=extension_drivers value=dns_domain_keywords") {
		t.Errorf("stderr does not log the dns_domain_keywords extension driver as having no effect: %q", r.stderr)
	}
}

// process is a neutrino command running in the background.
type process struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

func startNeutrino(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = isolatedEnv(t)
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop sends SIGTERM and expects a clean exit within 15s.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15s after SIGTERM; stderr:\n%s", p.stderr.String())
	}
	if p.err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", p.err, p.stderr.String())
	}
}

// waitReady polls GET / until the server answers 200, for up to 10s.
func (p *process) waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(base + "/")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && bytes.Contains(body, []byte(`"versions"`)) {
				return
			}
			t.Fatalf("GET / = %d: %s", resp.StatusCode, body)
		}
		select {
		case <-p.done:
			t.Fatalf("exited before answering (%v); stderr:\n%s", p.err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer to GET / within 10s (%v); stderr:\n%s", err, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func request(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(raw)
}

// stateDir is a temporary state_path dnsmasq can reach: the DHCP part
// refuses to start when dnsmasq's unprivileged user cannot traverse to
// its files, and t.TempDir's parent is private (0700).
func stateDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestAllInOne runs the all-in-one server twice on one state directory:
// it starts, answers, stops cleanly on SIGTERM, and keeps a network
// created in the first run.
func TestAllInOne(t *testing.T) {
	state := filepath.Join(stateDir(t), "state")
	port := freePort(t)
	// The in-process agent stays off: run as root it would build its data
	// plane in this machine's own namespace (test/cli/wiring.sh runs it in
	// a namespace of its own).
	conf := writeConfig(t, fmt.Sprintf("[DEFAULT]\nstate_path = %s\nbind_port = %d\n[agent]\nin_process = false\n", state, port))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	first := startNeutrino(t, "all-in-one", "--config-file", conf)
	first.waitReady(t, base)
	status, body := request(t, "POST", base+"/v2.0/networks", `{"network": {"name": "kept", "mtu": 1400}}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	var created struct {
		Network map[string]any `json:"network"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	id, _ := created.Network["id"].(string)
	if id == "" {
		t.Fatalf("no id in %s", body)
	}
	first.stop(t)
	if _, err := os.Stat(filepath.Join(state, "neutrino.sqlite")); err != nil {
		t.Errorf("no database under state_path: %v", err)
	}
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		t.Fatal("port still answers after the first run exited")
	}

	second := startNeutrino(t, "all-in-one", "--config-file", conf)
	second.waitReady(t, base)
	status, body = request(t, "GET", base+"/v2.0/networks/"+id, "")
	if status != 200 {
		t.Fatalf("network after restart: %d %s", status, body)
	}
	var shown struct {
		Network map[string]any `json:"network"`
	}
	if err := json.Unmarshal([]byte(body), &shown); err != nil {
		t.Fatal(err)
	}
	for k, v := range created.Network {
		if fmt.Sprint(shown.Network[k]) != fmt.Sprint(v) {
			t.Errorf("after restart %s = %v, was %v", k, shown.Network[k], v)
		}
	}
	second.stop(t)
}

// TestAgentRefusesWithoutBusOrParts: the agent needs the server's bus,
// and a configuration its data-plane parts accept.
func TestAgentRefusesWithoutBusOrParts(t *testing.T) {
	for _, c := range []struct{ conf, want string }{
		{"[DEFAULT]\nhost = h1\n", "[DEFAULT] transport_url is not set"},
		// The parts are built before the bus is dialled: the L2 part
		// needs its tunnel endpoint.
		{"[DEFAULT]\ntransport_url = nats://127.0.0.1:1/\n", "[vxlan] local_ip"},
	} {
		r := neutrino(t, "agent", "--config-file", writeConfig(t, c.conf))
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("agent with %q: exit %d, stderr %q; want failure mentioning %q", c.conf, r.code, r.stderr, c.want)
		}
	}
}

// TestServerBusListens: the server's embedded bus listens where [nats]
// says, and shuts down with the server.
func TestServerBusListens(t *testing.T) {
	port := freePort(t)
	busPort := freePort(t)
	conf := writeConfig(t, fmt.Sprintf("[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = %d\nauth_strategy = noauth\n"+
		"[database]\nconnection = sqlite:///%s\n[nats]\nembedded_port = %d\n",
		port, filepath.Join(t.TempDir(), "n.sqlite"), busPort))
	p := startNeutrino(t, "server", "--config-file", conf)
	p.waitReady(t, fmt.Sprintf("http://127.0.0.1:%d", port))
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", busPort), 2*time.Second)
	if err != nil {
		p.stop(t)
		t.Fatalf("embedded bus not listening: %v\n%s", err, p.stderr.String())
	}
	c.Close()
	p.stop(t)
	if !strings.Contains(p.stderr.String(), fmt.Sprintf("bus=nats://127.0.0.1:%d", busPort)) {
		t.Errorf("log does not name the bus address:\n%s", p.stderr.String())
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", busPort), time.Second); err == nil {
		c.Close()
		t.Error("embedded bus still listening after the server stopped")
	}
}

// TestAgentRunsBothParts: `neutrino agent` pointed at a server's bus
// registers its L2, DHCP and L3 parts as Neutron's three agents of the host,
// with the configurations ML2 binds by, and exits cleanly on SIGTERM.
// No port is bound to its host, so it changes no device.
func TestAgentRunsBothParts(t *testing.T) {
	port, busPort := freePort(t), freePort(t)
	conf := writeConfig(t, fmt.Sprintf("[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = %d\nauth_strategy = noauth\n"+
		"[database]\nconnection = sqlite:///%s\n[nats]\nembedded_port = %d\n",
		port, filepath.Join(t.TempDir(), "n.sqlite"), busPort))
	srv := startNeutrino(t, "server", "--config-file", conf)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	srv.waitReady(t, base)

	host := fmt.Sprintf("cmdtest-%d", port)
	agentConf := writeConfig(t, fmt.Sprintf("[DEFAULT]\nhost = %s\nstate_path = %s\ntransport_url = nats://127.0.0.1:%d\n"+
		"[linux_bridge]\nphysical_interface_mappings = physnet1:nonexistent0\n[vxlan]\nenable_vxlan = false\n",
		host, stateDir(t), busPort))
	ag := startNeutrino(t, "agent", "--config-file", agentConf)
	want := map[string]string{
		"Linux bridge agent": `"interface_mappings":{"physnet1":"nonexistent0"}`,
		"DHCP agent":         `"dhcp_driver":"neutron.agent.linux.dhcp.Dnsmasq"`,
		"L3 agent":           `"agent_mode":"legacy"`,
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, body := request(t, "GET", base+"/v2.0/agents?host="+host, "")
		var out struct {
			Agents []map[string]any `json:"agents"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, a := range out.Agents {
			conf, _ := json.Marshal(a["configurations"])
			if w, ok := want[fmt.Sprint(a["agent_type"])]; ok && a["alive"] == true && strings.Contains(string(conf), w) {
				found++
			}
		}
		if found == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agents of %s: %s\nagent stderr:\n%s", host, body, ag.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	ag.stop(t)
	srv.stop(t)
}
