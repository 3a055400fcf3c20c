package server

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/neutrino-net/neutrino/internal/config"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/mech"
	"github.com/neutrino-net/neutrino/internal/plugin/ml2/types"
)

// ml2Options reads the [ml2] and [ml2_type_*] options; a bad range,
// mapping or driver name stops the server, with the option named, before
// it touches the database.
func ml2Options(cfg *config.Config, logger *slog.Logger) (ml2.Options, error) {
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
		return ml2.Options{}, bad(optPhysnetMTUs, err)
	}
	if tc.VLANRanges, err = types.ParseVLANRanges(cfg.List(optVLANRanges)); err != nil {
		return ml2.Options{}, bad(optVLANRanges, fmt.Errorf("[ml2_type_vlan] network_vlan_ranges: %w", err))
	}
	if tc.VXLANRanges, err = types.ParseTunnelRanges(types.VXLAN, cfg.List(optVXLANRanges), types.MaxVNI); err != nil {
		return ml2.Options{}, bad(optVXLANRanges, fmt.Errorf("[ml2_type_vxlan] vni_ranges: %w", err))
	}
	if tc.GeneveRanges, err = types.ParseTunnelRanges(types.Geneve, cfg.List(optGeneveRanges), types.MaxVNI); err != nil {
		return ml2.Options{}, bad(optGeneveRanges, fmt.Errorf("[ml2_type_geneve] vni_ranges: %w", err))
	}
	if tc.GRERanges, err = types.ParseTunnelRanges(types.GRE, cfg.List(optGRERanges), types.MaxGREKey); err != nil {
		return ml2.Options{}, bad(optGRERanges, fmt.Errorf("[ml2_type_gre] tunnel_id_ranges: %w", err))
	}
	opts := ml2.Options{
		TypeDrivers:         cfg.List(optTypeDrivers),
		ProjectNetworkTypes: cfg.List(optProjectNetworkTypes),
		MechanismDrivers:    cfg.List(optMechanismDrivers),
		Types:               tc,
		Logger:              logger,
	}
	if _, err := types.New(opts.TypeDrivers, tc); err != nil {
		return opts, bad(optTypeDrivers, err)
	}
	for _, t := range opts.ProjectNetworkTypes {
		if !slices.Contains(opts.TypeDrivers, t) {
			return opts, bad(optProjectNetworkTypes, fmt.Errorf("[ml2] project_network_types: %q is not in [ml2] type_drivers", t))
		}
	}
	if err := mech.Check(opts.MechanismDrivers); err != nil {
		return opts, bad(optMechanismDrivers, err)
	}
	return opts, nil
}
