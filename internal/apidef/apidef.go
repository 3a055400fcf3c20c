// Package apidef declares Neutron's API: the core resources, the
// extensions and the attributes each extension adds, mirroring
// neutron-lib's api/definitions. Each file declares one resource or one
// extension and registers it from init; the server enables the subset its
// plugins support.
package apidef

import (
	"sort"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// Extension describes one API extension as /v2.0/extensions lists it.
type Extension struct {
	Alias       string
	Name        string
	Description string
	// Updated is the extension's timestamp, as neutron-lib gives it.
	Updated string
	// Requires lists aliases this extension cannot work without.
	Requires []string
}

var (
	extensions = map[string]*Extension{}
	resources  = map[string]func() *resource.Resource{}
	// extenders add extension attributes to core resources.
	extenders []func(collection string, r *resource.Resource)
)

// registerExtension adds an extension; called from init.
func registerExtension(e *Extension) {
	if _, dup := extensions[e.Alias]; dup {
		panic("apidef: extension " + e.Alias + " registered twice")
	}
	extensions[e.Alias] = e
}

// registerResource adds a resource constructor; called from init.
func registerResource(collection string, build func() *resource.Resource) {
	resources[collection] = build
}

// extend adds attributes to a resource defined elsewhere; called from init.
func extend(f func(collection string, r *resource.Resource)) {
	extenders = append(extenders, f)
}

// LookupExtension returns the extension with alias, or nil.
func LookupExtension(alias string) *Extension { return extensions[alias] }

// Extensions returns every known extension sorted by alias.
func Extensions() []*Extension {
	out := make([]*Extension, 0, len(extensions))
	for _, e := range extensions {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Alias < out[j].Alias })
	return out
}

// Build returns fresh definitions of every known resource with every
// extension's attributes, keyed by collection. Each call builds new
// values, so callers may restrict them independently.
func Build() map[string]*resource.Resource {
	out := make(map[string]*resource.Resource, len(resources))
	for coll, build := range resources {
		r := build()
		for _, f := range extenders {
			f(coll, r)
		}
		addTrailingStandardAttrs(r)
		out[coll] = r
	}
	return out
}
