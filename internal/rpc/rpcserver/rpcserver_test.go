package rpcserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/neutrino-net/neutrino/internal/rpc"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcapi"
	"github.com/neutrino-net/neutrino/internal/rpc/rpcserver"
	"github.com/neutrino-net/neutrino/internal/rpc/rpctest"
)

// l2 answers each method with its name and the device asked about.
type l2 struct{}

func answer(name string) func(context.Context, json.RawMessage) (any, error) {
	return func(_ context.Context, args json.RawMessage) (any, error) {
		var a struct {
			Device string `json:"device"`
			Host   string `json:"host"`
		}
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, err
		}
		return map[string]string{"method": name, "device": a.Device, "host": a.Host}, nil
	}
}

func (l2) GetDeviceDetails(ctx context.Context, a json.RawMessage) (any, error) {
	return answer("get_device_details")(ctx, a)
}
func (l2) GetDevicesDetailsList(ctx context.Context, a json.RawMessage) (any, error) {
	return answer("get_devices_details_list")(ctx, a)
}
func (l2) UpdateDeviceUp(ctx context.Context, a json.RawMessage) (any, error) {
	return answer("update_device_up")(ctx, a)
}
func (l2) UpdateDeviceDown(ctx context.Context, a json.RawMessage) (any, error) {
	return answer("update_device_down")(ctx, a)
}
func (l2) Snapshot(ctx context.Context, a json.RawMessage) (any, error) {
	return answer("get_snapshot")(ctx, a)
}

// RPCMethods adds tunnel_sync, as an ML2 plugin would.
func (l2) RPCMethods() rpc.Handlers {
	return rpc.Handlers{"tunnel_sync": answer("tunnel_sync")}
}

// agents remembers the hosts that reported, as report_state does.
type agents struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (a *agents) ReportState(_ context.Context, args json.RawMessage) (any, error) {
	var r struct {
		AgentState struct {
			AgentState struct {
				Host      string `json:"host"`
				AgentType string `json:"agent_type"`
			} `json:"agent_state"`
		} `json:"agent_state"`
		Time string `json:"time"`
	}
	if err := json.Unmarshal(args, &r); err != nil {
		return nil, err
	}
	s := r.AgentState.AgentState
	if s.Host == "" || r.Time == "" {
		return nil, rpc.Remote("InvalidInput", "report_state without host or time")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := s.AgentType + "/" + s.Host
	if a.seen[key] {
		return "alive", nil
	}
	a.seen[key] = true
	return "new", nil
}

func TestDispatch(t *testing.T) {
	rpctest.Each(t, func(t *testing.T, tr *rpctest.Transport) {
		d := &rpcserver.Dispatcher{L2: l2{}, Agents: &agents{seen: map[string]bool{}}}
		if err := d.Serve(tr.Open(t)); err != nil {
			t.Fatal(err)
		}
		cli := tr.Open(t)
		ctx := context.Background()
		for _, m := range []string{"get_device_details", "get_devices_details_list", "update_device_up",
			"update_device_down", "get_snapshot", "tunnel_sync"} {
			var got map[string]string
			if err := cli.Call(ctx, rpcapi.TopicPlugin, m, map[string]string{"device": "tap1", "host": "h1"}, &got); err != nil {
				t.Errorf("%s: %v", m, err)
				continue
			}
			if got["method"] != m || got["device"] != "tap1" || got["host"] != "h1" {
				t.Errorf("%s answered %v", m, got)
			}
		}

		report := map[string]any{"agent_state": map[string]any{"agent_state": map[string]any{
			"host": "h1", "agent_type": "Linux bridge agent", "binary": "neutrino-agent"}}, "time": "2026-11-22T07:41:10.000000"}
		for _, want := range []string{"new", "alive"} {
			var got string
			if err := cli.Call(ctx, rpcapi.TopicReports, "report_state", report, &got); err != nil {
				t.Fatalf("report_state: %v", err)
			}
			if got != want {
				t.Errorf("report_state = %q, want %q", got, want)
			}
		}
		if err := cli.Call(ctx, rpcapi.TopicReports, "report_state", map[string]any{}, nil); !rpc.IsRemote(err, "InvalidInput") {
			t.Errorf("report_state without state: %v, want InvalidInput", err)
		}

		for _, c := range []struct{ topic, method, typ, msg string }{
			{rpcapi.TopicDHCPPlugin, "get_active_networks_info", "NotSupported",
				"get_active_networks_info is not supported: no DHCP plugin is enabled on this server"},
			{rpcapi.TopicPlugin, "security_group_info_for_devices", "NotSupported",
				"security_group_info_for_devices is not supported: no security group plugin is enabled on this server"},
			{rpcapi.TopicL3Plugin, "sync_routers", "NotSupported",
				"sync_routers is not supported: no L3 plugin is enabled on this server"},
			{rpcapi.TopicL3Plugin, "update_ha_routers_states", "NotSupported", "unsupported: L3 HA is not implemented"},
			{rpcapi.TopicPlugin, "no_such_method", "NoSuchMethod", "endpoint does not support RPC method no_such_method on topic q-plugin"},
		} {
			err := cli.Call(ctx, c.topic, c.method, nil, nil)
			var re *rpc.RemoteError
			if !errors.As(err, &re) || re.Type != c.typ || re.Message != c.msg {
				t.Errorf("%s on %s: %v, want %s: %s", c.method, c.topic, err, c.typ, c.msg)
			}
		}
	})
}
