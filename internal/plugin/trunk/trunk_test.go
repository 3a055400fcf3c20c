package trunk

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/neutrino-net/neutrino/internal/config"
)

// The plugin loads only with the Linux bridge mechanism driver, as
// Neutron's refuses to load without a trunk-capable driver
// (IncompatibleTrunkPluginConfiguration).
func TestConfigureNeedsLinuxBridge(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		drivers string
		ok      bool
	}{
		{"", false},
		{"l2population", false},
		{"linuxbridge", true},
		{"linuxbridge,l2population", true},
	} {
		cfg, err := config.Options.LoadWithDefaults(map[string]string{"ml2.mechanism_drivers": c.drivers}, nil, nil, logger)
		if err != nil {
			t.Fatalf("load config: %v", err)
		}
		build, err := configure(cfg, logger)
		if c.ok != (err == nil) || c.ok != (build != nil) {
			t.Errorf("mechanism_drivers = %q: %v", c.drivers, err)
		}
		if err != nil && !strings.Contains(err.Error(), "Cannot load trunk plugin") {
			t.Errorf("mechanism_drivers = %q: error %v", c.drivers, err)
		}
	}
}

func TestSegmentationTypes(t *testing.T) {
	vlan := segmentationTypes[SegmentationVLAN]
	for id, want := range map[int]bool{0: false, 1: true, 2: true, 4094: true, 4095: false, -1: false} {
		if vlan(id) != want {
			t.Errorf("VLAN %d valid: %v, want %v", id, !want, want)
		}
	}
	if _, ok := segmentationTypes[SegmentationInherit]; ok {
		t.Error("inherit is resolved to its network's type, never validated as a type")
	}
}
