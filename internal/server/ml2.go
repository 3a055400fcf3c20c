package server

import (
	"fmt"
	"log/slog"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
	"github.com/neutrino-net/neutrino/internal/resource"
	"github.com/neutrino-net/neutrino/internal/store"
)

// newML2 builds ML2 from the [ml2] and [ml2_type_*] options; a bad range
// or mapping stops the server with the option named.
func newML2(st *store.Store, defs map[string]*resource.Resource, cfg *config.Config, logger *slog.Logger) (*ml2.Plugin, error) {
	tc := types.Config{
		GlobalPhysnetMTU:    cfg.Int(optGlobalPhysnetMTU),
		PathMTU:             cfg.Int(optPathMTU),
		OverlayIPVersion:    cfg.Int(optOverlayIPVersion),
		FlatNetworks:        cfg.List(optFlatNetworks),
		GeneveMaxHeaderSize: cfg.Int(optGeneveMaxHeader),
	}
	var err error
	bad := func(o config.Opt, err error) error {
		return fmt.Errorf("config: %s: %w", source(cfg, o), err)
	}
	if tc.PhysnetMTUs, err = types.ParsePhysnetMTUs(cfg.List(optPhysnetMTUs)); err != nil {
		return nil, bad(optPhysnetMTUs, err)
	}
	if tc.VLANRanges, err = types.ParseVLANRanges(cfg.List(optVLANRanges)); err != nil {
		return nil, bad(optVLANRanges, fmt.Errorf("[ml2_type_vlan] network_vlan_ranges: %w", err))
	}
	if tc.VXLANRanges, err = types.ParseTunnelRanges(types.VXLAN, cfg.List(optVXLANRanges), types.MaxVNI); err != nil {
		return nil, bad(optVXLANRanges, fmt.Errorf("[ml2_type_vxlan] vni_ranges: %w", err))
	}
	if tc.GeneveRanges, err = types.ParseTunnelRanges(types.Geneve, cfg.List(optGeneveRanges), types.MaxVNI); err != nil {
		return nil, bad(optGeneveRanges, fmt.Errorf("[ml2_type_geneve] vni_ranges: %w", err))
	}
	if tc.GRERanges, err = types.ParseTunnelRanges(types.GRE, cfg.List(optGRERanges), types.MaxGREKey); err != nil {
		return nil, bad(optGRERanges, fmt.Errorf("[ml2_type_gre] tunnel_id_ranges: %w", err))
	}
	p, err := ml2.New(st, defs, ml2.Options{
		TypeDrivers:         cfg.List(optTypeDrivers),
		ProjectNetworkTypes: cfg.List(optProjectNetworkTypes),
		MechanismDrivers:    cfg.List(optMechanismDrivers),
		Types:               tc,
		Logger:              logger,
	})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return p, nil
}
