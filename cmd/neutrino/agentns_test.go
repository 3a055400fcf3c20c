package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/neutrino-net/neutrino/internal/dataplane/link"
	vnetns "github.com/neutrino-net/neutrino/internal/dataplane/netns"
	"github.com/neutrino-net/neutrino/internal/testenv/nsrig"
)

// TestAgentPartsAndNamespace: [agent] parts = dhcp runs the DHCP agent
// alone, and [agent] network_namespace builds its data plane in that
// namespace: a network scheduled to it gets its dnsmasq in qdhcp-<id>
// and its bridge in the named namespace, none in the process's own.
// Deleting the network takes them away again.
func TestAgentPartsAndNamespace(t *testing.T) {
	nsrig.RequireDataplane(t)
	port, busPort := freePort(t), freePort(t)
	conf := writeConfig(t, fmt.Sprintf("[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = %d\nauth_strategy = noauth\n"+
		"[database]\nconnection = sqlite:///%s\n[nats]\nembedded_port = %d\n",
		port, filepath.Join(t.TempDir(), "n.sqlite"), busPort))
	srv := startNeutrino(t, "server", "--config-file", conf)
	defer srv.stop(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	srv.waitReady(t, base)

	nsName := "nt-agentns-" + nsrig.RandHex(4)
	if out, err := exec.Command("ip", "netns", "add", nsName).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", nsName).Run() })

	host := fmt.Sprintf("cmdtest-ns-%d", port)
	agentConf := writeConfig(t, fmt.Sprintf("[DEFAULT]\nhost = %s\nstate_path = %s\ntransport_url = nats://127.0.0.1:%d\n"+
		"resync_interval = 1\n[agent]\nparts = dhcp\nnetwork_namespace = %s\nreport_interval = 1\n",
		host, stateDir(t), busPort, nsName))
	ag := startNeutrino(t, "agent", "--config-file", agentConf)
	defer ag.stop(t)

	waitFor := func(what string, cond func() error) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := cond()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v\nagent stderr:\n%s", what, err, ag.stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("the DHCP agent alone", func() error {
		_, body := request(t, "GET", base+"/v2.0/agents?host="+host, "")
		var out struct {
			Agents []map[string]any `json:"agents"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			return err
		}
		if len(out.Agents) != 1 || out.Agents[0]["agent_type"] != "DHCP agent" || out.Agents[0]["alive"] != true {
			return fmt.Errorf("agents of %s: %s", host, body)
		}
		return nil
	})

	_, body := request(t, "POST", base+"/v2.0/networks", `{"network": {"name": "nsnet"}}`)
	var created map[string]map[string]any
	if err := json.Unmarshal([]byte(body), &created); err != nil || created["network"] == nil {
		t.Fatalf("create network: %s", body)
	}
	netID := created["network"]["id"].(string)
	if code, body := request(t, "POST", base+"/v2.0/subnets", fmt.Sprintf(
		`{"subnet": {"network_id": %q, "cidr": "10.66.0.0/24", "ip_version": 4}}`, netID)); code != 201 {
		t.Fatalf("create subnet: %d %s", code, body)
	}
	qdhcp, bridge := link.DHCPNamespace(netID), link.BridgeName(netID)
	hostNS, err := netns.GetFromName(nsName)
	if err != nil {
		t.Fatal(err)
	}
	defer hostNS.Close()
	inHost := func(name string) bool {
		h, err := netlink.NewHandleAt(hostNS)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		_, err = h.LinkByName(name)
		return err == nil
	}
	waitFor("dnsmasq in "+qdhcp+" and "+bridge+" in "+nsName, func() error {
		if !vnetns.Exists(qdhcp) {
			return fmt.Errorf("no namespace %s", qdhcp)
		}
		pids, _ := vnetns.PIDs(qdhcp)
		dnsmasq := false
		for _, pid := range pids {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(b)) == "dnsmasq" {
				dnsmasq = true
			}
		}
		if !dnsmasq {
			return fmt.Errorf("no dnsmasq in %s", qdhcp)
		}
		if !inHost(bridge) {
			return fmt.Errorf("no %s in %s", bridge, nsName)
		}
		return nil
	})
	if _, err := netlink.LinkByName(bridge); err == nil {
		t.Errorf("%s exists in the test process's own namespace too", bridge)
	}

	if code, body := request(t, "DELETE", base+"/v2.0/networks/"+netID, ""); code != 204 {
		t.Fatalf("delete network: %d %s", code, body)
	}
	waitFor("the network's DHCP server gone", func() error {
		if vnetns.Exists(qdhcp) {
			return fmt.Errorf("namespace %s still there", qdhcp)
		}
		if inHost(bridge) {
			return fmt.Errorf("%s still in %s", bridge, nsName)
		}
		return nil
	})
}
