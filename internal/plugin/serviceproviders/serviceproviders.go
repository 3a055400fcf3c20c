// Package serviceproviders serves the service-type extension: the
// providers configured for advanced services, as Neutron's
// [service_providers] service_provider entries
// ("<service_type>:<name>:<driver>[:default]") list them. They live in
// configuration, not the database.
package serviceproviders

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// Provider is one configured service provider.
type Provider struct {
	ServiceType, Name, Driver string
	Default                   bool
}

// Parse reads service_provider entries, refusing malformed ones and a
// second default for one service type, as Neutron's ProviderConfiguration.
func Parse(entries []string) ([]Provider, error) {
	var out []Provider
	defaults := map[string]bool{}
	for _, e := range entries {
		parts := strings.Split(e, ":")
		if len(parts) < 3 || len(parts) > 4 || parts[0] == "" || parts[1] == "" || parts[2] == "" ||
			(len(parts) == 4 && parts[3] != "default") {
			return nil, fmt.Errorf("invalid service provider %q: want <service_type>:<name>:<driver>[:default]", e)
		}
		p := Provider{ServiceType: parts[0], Name: parts[1], Driver: parts[2], Default: len(parts) == 4}
		if p.Default {
			if defaults[p.ServiceType] {
				return nil, fmt.Errorf("service provider %q: service type %s already has a default provider", e, p.ServiceType)
			}
			defaults[p.ServiceType] = true
		}
		out = append(out, p)
	}
	return out, nil
}

// Handler serves /v2.0/service-providers.
type Handler struct {
	res       *resource.Resource
	providers func() []Provider
}

// New returns the handler for the service_providers resource, listing
// what providers returns.
func New(res *resource.Resource, providers func() []Provider) *Handler {
	return &Handler{res: res, providers: providers}
}

func (h *Handler) objects() []*resource.Object {
	providers := h.providers()
	out := make([]*resource.Object, 0, len(providers))
	for _, p := range providers {
		o := resource.New(h.res)
		o.Set("service_type", p.ServiceType)
		o.Set("name", p.Name)
		o.Set("default", p.Default)
		out = append(out, o)
	}
	return out
}

// List implements plugin.Handler.
func (h *Handler) List(_ context.Context, q *resource.Query) ([]*resource.Object, error) {
	var out []*resource.Object
	for _, o := range h.objects() {
		keep := true
		for _, f := range q.Filters {
			if !slices.Contains(f.Values, o.Get(f.Attr.Name)) {
				keep = false
			}
		}
		if keep {
			out = append(out, o)
		}
	}
	return out, nil
}

// Get implements plugin.Handler: providers have no id, so there is
// nothing to show, as in Neutron.
func (h *Handler) Get(context.Context, string) (*resource.Object, error) {
	return nil, fault.HTTPNotFound()
}

func readOnly() error {
	return fault.New(405, "HTTPMethodNotAllowed", "Service providers are read-only.")
}

// Create implements plugin.Handler.
func (h *Handler) Create(context.Context, []*resource.Object) ([]*resource.Object, error) {
	return nil, readOnly()
}

// Update implements plugin.Handler.
func (h *Handler) Update(context.Context, string, *resource.Object, int) (*resource.Object, error) {
	return nil, readOnly()
}

// Delete implements plugin.Handler.
func (h *Handler) Delete(context.Context, string, int) error { return readOnly() }
