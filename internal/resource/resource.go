// Package resource is Neutrino's schema language: it declares API
// resources and their attributes the way neutron-lib's API definitions do
// (allow_post, allow_put, is_visible, is_filter, is_sort_key, defaults,
// converters and validators), and carries their values as Objects.
//
// It does no I/O and knows nothing of HTTP or SQL, so the API, the plugins
// and the store can all import it.
package resource

import (
	"fmt"
	"sort"
	"strings"
)

// Kind is the Go representation an attribute's value takes once converted.
type Kind int

// The kinds of attribute values. Each maps to one Go type in an Object:
// String → string, Bool → bool, Int → int, StringList → []string,
// Time → time.Time, JSON → any decoded JSON value (map[string]any, []any …).
// A nullable attribute may also hold nil.
const (
	String Kind = iota
	Bool
	Int
	StringList
	Time
	JSON
)

// Storage says where an attribute's value lives.
type Storage int

const (
	// Column attributes are stored in a column of the resource's table,
	// named after the attribute with ':' and '-' turned into '_'.
	Column Storage = iota
	// Related attributes are loaded by the store from another table (a
	// network's subnets, any resource's tags).
	Related
	// Virtual attributes are not stored; the plugin computes them, or the
	// attribute's Default is shown.
	Virtual
)

// Attr declares one attribute of a resource.
type Attr struct {
	Name string
	Kind Kind
	// Nullable allows JSON null as a value.
	Nullable bool
	// OmitUnset leaves the attribute out of replies for objects the
	// plugin left it unset on (Neutron shows is_default on external
	// networks only). Virtual attributes without a default are always
	// left out when unset.
	OmitUnset bool
	// StoredNull lets a value the plugin stored as null read back as
	// null, though requests may not give null (Neutron's nullable
	// column behind a string validator: an automatically created
	// security group rule's description).
	StoredNull bool

	AllowPost bool
	AllowPut  bool
	Visible   bool
	Filter    bool
	Sort      bool
	// Required means a POST must give a value: there is no default.
	Required bool
	// Default is used on create when the attribute is absent. For virtual
	// attributes it is also the value shown when the plugin sets none.
	// NotSpecified (neutron-lib's ATTR_NOT_SPECIFIED) leaves the attribute
	// absent so the plugin can tell "not given" from "given as null".
	Default any
	// SubFilters are the keys a list may filter this (list-of-objects)
	// attribute by, as "fixed_ips=ip_address=10.0.0.5"; a key ending in
	// "_substr" matches a substring of the key without it.
	SubFilters []string
	// Convert turns a decoded JSON value into the attribute's Kind, in the
	// manner of neutron-lib's convert_to. Nil means the kind's standard
	// conversion.
	Convert func(v any) (any, error)
	// Validate checks a converted value and returns the human reason it is
	// invalid, as neutron-lib's validators do.
	Validate func(v any) error

	// EnforcePolicy makes the attribute subject to per-attribute policy
	// rules such as "create_network:shared".
	EnforcePolicy bool
	// RequiredByPolicy puts the attribute into the policy target even when
	// the caller did not ask for it.
	RequiredByPolicy bool

	Storage Storage
	// Extension is the alias of the extension that adds this attribute;
	// empty for core attributes. Attributes of disabled extensions are
	// neither accepted nor shown.
	Extension string
	// WriteExtension, when set, is the extension that makes the attribute
	// writable (net-mtu-writable for mtu); without it the attribute is
	// read-only.
	WriteExtension string
	// PutExtension, when set, is the extension that makes the attribute
	// updatable (subnet-segmentid-writable for a subnet's segment_id);
	// without it the attribute is set on create only.
	PutExtension string

	index  int
	column string
}

// Index is the attribute's position in its resource; Objects keep values
// in this order.
func (a *Attr) Index() int { return a.index }

// ColumnName is the SQL-safe name the store uses for the attribute.
func (a *Attr) ColumnName() string { return a.column }

var columnReplacer = strings.NewReplacer(":", "_", "-", "_")

// NotSpecified is the Default of attributes that are optional but have no
// default value: the plugin decides what an absent value means.
var NotSpecified any = notSpecifiedT{}

type notSpecifiedT struct{}

// Resource declares one API resource: its names and attributes.
type Resource struct {
	// Name is the singular member name ("network"); Collection the plural
	// used in URLs and list bodies ("networks").
	Name       string
	Collection string
	// Path is the URL segment when it differs from Collection
	// ("address-scopes" for address_scopes).
	Path string
	// Parent, for sub-resources, is the collection they live under
	// (floatingips/{id}/port_forwardings); empty for top-level resources.
	Parent string
	// ParentKey, for sub-resources, is the attribute that holds the parent
	// object's id (floatingip_id); the API sets it on create and serves
	// only the parent's own children.
	ParentKey string
	// AllowBulk permits {"<collection>": [...]} on create.
	AllowBulk bool
	// Extension is the alias of the extension that adds this resource;
	// empty for core resources.
	Extension string
	// ReadOnly resources answer only GET (network-ip-availabilities).
	ReadOnly bool
	// Actions are the member actions served as PUT /<collection>/{id}/<action>
	// (add_prefixes, add_router_interface …); policy names them alone.
	Actions []string
	// GetActions are the member actions served as GET
	// /<collection>/{id}/<action> (a trunk's get_subports).
	GetActions []string
	// Standard resources carry Neutron's standard attributes: description,
	// tags, created_at, updated_at and revision_number.
	Standard bool

	attrs  []*Attr
	byName map[string]*Attr
}

// NewResource declares a resource with the given attributes. Attribute
// order is the order of keys in responses.
func NewResource(name, collection string, attrs ...*Attr) *Resource {
	r := &Resource{Name: name, Collection: collection, byName: map[string]*Attr{}}
	for _, a := range attrs {
		r.Add(a)
	}
	return r
}

// Add appends an attribute, as an extension does to a core resource. It
// panics on a duplicate name: definitions are code, and a clash is a bug.
func (r *Resource) Add(a *Attr) {
	if _, dup := r.byName[a.Name]; dup {
		panic(fmt.Sprintf("resource %s: attribute %q declared twice", r.Name, a.Name))
	}
	a.index = len(r.attrs)
	a.column = columnReplacer.Replace(a.Name)
	r.attrs = append(r.attrs, a)
	r.byName[a.Name] = a
}

// URLPath is the resource's URL segment.
func (r *Resource) URLPath() string {
	if r.Path != "" {
		return r.Path
	}
	return r.Collection
}

// Attrs returns the attributes in declaration order. The slice is shared;
// do not modify it.
func (r *Resource) Attrs() []*Attr { return r.attrs }

// Attr returns the named attribute, or nil.
func (r *Resource) Attr(name string) *Attr { return r.byName[name] }

// Restrict returns a copy of r without the attributes of extensions that
// enabled does not contain. Indexes are renumbered, so Objects of the copy
// are not interchangeable with Objects of the original.
func (r *Resource) Restrict(enabled func(alias string) bool) *Resource {
	out := &Resource{Name: r.Name, Collection: r.Collection, Path: r.Path, Parent: r.Parent, ParentKey: r.ParentKey,
		AllowBulk: r.AllowBulk, Standard: r.Standard, Actions: r.Actions, GetActions: r.GetActions, ReadOnly: r.ReadOnly, Extension: r.Extension, byName: map[string]*Attr{}}
	for _, a := range r.attrs {
		if a.Extension != "" && !enabled(a.Extension) {
			continue
		}
		c := *a
		if c.WriteExtension != "" && !enabled(c.WriteExtension) {
			c.AllowPost, c.AllowPut = false, false
		}
		if c.PutExtension != "" && !enabled(c.PutExtension) {
			c.AllowPut = false
		}
		out.Add(&c)
	}
	return out
}

// Registry holds the resources an API serves, by collection name.
type Registry struct {
	byCollection map[string]*Resource
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byCollection: map[string]*Resource{}} }

// Register adds a resource; a second resource with the same collection
// panics.
func (g *Registry) Register(r *Resource) {
	if _, dup := g.byCollection[r.Collection]; dup {
		panic(fmt.Sprintf("resource collection %q registered twice", r.Collection))
	}
	g.byCollection[r.Collection] = r
}

// Lookup returns the resource serving collection, or nil.
func (g *Registry) Lookup(collection string) *Resource { return g.byCollection[collection] }

// All returns the registered resources sorted by collection name.
func (g *Registry) All() []*Resource {
	out := make([]*Resource, 0, len(g.byCollection))
	for _, r := range g.byCollection {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Collection < out[j].Collection })
	return out
}
