package apidef

import (
	"github.com/neutrino-net/neutrino/internal/resource"
)

// PortBindings is the sub-collection of a port's bindings
// (/ports/{id}/bindings, neutron-lib's portbindings_extended).
const PortBindings = "bindings"

// Port binding extensions: a port's bindings on several hosts, and the
// port attributes ML2's extension drivers add (neutron-lib's
// portbindings_extended, port_numa_affinity_policy, port_device_profile,
// uplink_status_propagation, data_plane_status), and the shims that only
// signal behaviour (port_mac_address_regenerate,
// port_mac_address_override, security_groups_port_filtering).
func init() {
	for _, e := range []*Extension{
		{Alias: "binding-extended", Name: "Port Bindings Extended",
			Description: "Expose port bindings of a virtual port to external application",
			Updated:     "2017-07-17T10:00:00-00:00", Requires: []string{"binding"}},
		{Alias: "port-device-profile", Name: "Port device profile",
			Description: "Expose the port device profile (Cyborg)",
			Updated:     "2020-12-17T10:00:00-00:00"},
		{Alias: "port-numa-affinity-policy", Name: "Port NUMA affinity policy",
			Description: "Expose the port NUMA affinity policy",
			Updated:     "2020-07-08T10:00:00-00:00"},
		{Alias: "port-mac-address-regenerate", Name: "Neutron Port MAC address regenerate",
			Description: "Network port MAC address regenerate",
			Updated:     "2018-05-03T10:00:00-00:00"},
		{Alias: "port-mac-override", Name: "Neutron Port MAC address override",
			Description: "Allow overriding the MAC address of a direct-physical Port via the active binding profile",
			Updated:     "2022-03-18T10:00:00-00:00"},
		{Alias: "port-security-groups-filtering", Name: "Port filtering on security groups",
			Description: "Provides security groups filtering when listing ports",
			Updated:     "2018-01-09T09:00:00-00:00"},
		{Alias: "uplink-status-propagation", Name: "Uplink status propagation extension",
			Description: "Provides ability to propagate port uplink status.",
			Updated:     "2018-05-31T18:00:00-00:00"},
		{Alias: "data-plane-status", Name: "Port data plane status extension",
			Description: "Expose status of underlying data plane",
			Updated:     "2017-01-24T10:00:00-00:00"},
	} {
		registerExtension(e)
	}

	extend(func(coll string, r *resource.Resource) {
		if coll != Ports {
			return
		}
		r.Add(&resource.Attr{Name: "numa_affinity_policy", Kind: resource.String, Nullable: true, AllowPost: true,
			AllowPut: true, Default: nil, Visible: true,
			Validate: validValues("required", "preferred", "legacy"), Extension: "port-numa-affinity-policy"})
		r.Add(&resource.Attr{Name: "device_profile", Kind: resource.String, Nullable: true, AllowPost: true,
			Default: nil, Visible: true, Validate: resource.MaxLen(DescriptionFieldSize), Extension: "port-device-profile"})
		// Stored NULL for ports made before the extension was enabled,
		// which Neutron shows as propagating.
		r.Add(&resource.Attr{Name: "propagate_uplink_status", Kind: resource.Bool, Nullable: true, AllowPost: true,
			Default: true, Visible: true, Extension: "uplink-status-propagation"})
		r.Add(&resource.Attr{Name: "data_plane_status", Kind: resource.String, Nullable: true, AllowPut: true,
			Default: resource.NotSpecified, Visible: true, EnforcePolicy: true,
			Validate: validValues("ACTIVE", "DOWN"), Extension: "data-plane-status"})
	})

	// A port's bindings: the active one (the port's binding:* attributes)
	// and inactive ones made for a live migration's destination. The host
	// is the key (/ports/{id}/bindings/{host}).
	registerResource(PortBindings, func() *resource.Resource {
		r := resource.NewResource("binding", PortBindings,
			// The generic controller's key (the host) and the parent port;
			// neither is shown.
			&resource.Attr{Name: "id", Kind: resource.String, Storage: resource.Virtual},
			&resource.Attr{Name: "port_id", Kind: resource.String, Storage: resource.Virtual},
			&resource.Attr{Name: "host", Kind: resource.String, AllowPost: true, AllowPut: true, Required: true,
				Visible: true, Filter: true, Validate: resource.MaxLen(255), Storage: resource.Virtual},
			&resource.Attr{Name: "vif_type", Kind: resource.String, Default: resource.NotSpecified, EnforcePolicy: true,
				Visible: true, Filter: true, Storage: resource.Virtual},
			&resource.Attr{Name: "vif_details", Kind: resource.JSON, Default: resource.NotSpecified, EnforcePolicy: true,
				Visible: true, Storage: resource.Virtual},
			&resource.Attr{Name: "vnic_type", Kind: resource.String, AllowPost: true, AllowPut: true, Default: "normal",
				Visible: true, Filter: true, EnforcePolicy: true, Storage: resource.Virtual,
				Validate: validValues("normal", "direct", "macvtap", "baremetal", "direct-physical", "virtio-forwarder",
					"smart-nic", "vdpa", "remote-managed")},
			&resource.Attr{Name: "profile", Kind: resource.JSON, AllowPost: true, AllowPut: true, Default: resource.NotSpecified,
				Visible: true, EnforcePolicy: true, Convert: convertBindingProfile, Storage: resource.Virtual},
			&resource.Attr{Name: "status", Kind: resource.String, Visible: true, Filter: true, Storage: resource.Virtual},
			// The port's project, for policy; Neutron's replies do not
			// show it.
			&resource.Attr{Name: "project_id", Kind: resource.String, AllowPost: true, RequiredByPolicy: true,
				Validate: resource.MaxLen(ProjectIDFieldSize), Storage: resource.Virtual},
			&resource.Attr{Name: "tenant_id", Kind: resource.String, AllowPost: true,
				Validate: resource.MaxLen(ProjectIDFieldSize), Storage: resource.Virtual},
		)
		r.Parent = Ports
		r.ParentKey = "port_id"
		r.Extension = "binding-extended"
		r.Actions = []string{"activate"}
		return r
	})
}
