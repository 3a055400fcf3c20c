package resource

import (
	"fmt"
	"time"
)

// absent marks an attribute an Object carries no value for; nil is a
// value (JSON null).
type absentT struct{}

var absent any = absentT{}

// Object is one instance of a resource: a value per attribute, indexed by
// the attribute's position. It is the unit the API, the plugins and the
// store exchange; unlike a map it costs one allocation and keeps the
// resource's key order.
type Object struct {
	res  *Resource
	vals []any
}

// New returns an Object of r with every attribute absent.
func New(r *Resource) *Object {
	vals := make([]any, len(r.attrs))
	for i := range vals {
		vals[i] = absent
	}
	return &Object{res: r, vals: vals}
}

// Resource returns the Object's resource definition.
func (o *Object) Resource() *Resource { return o.res }

// Has reports whether the attribute has a value (possibly null).
func (o *Object) Has(name string) bool {
	a := o.res.byName[name]
	return a != nil && o.vals[a.index] != absent
}

// HasAt is Has by attribute index.
func (o *Object) HasAt(i int) bool { return o.vals[i] != absent }

// Get returns the attribute's value, or nil when absent or unknown.
func (o *Object) Get(name string) any {
	a := o.res.byName[name]
	if a == nil {
		return nil
	}
	return o.At(a.index)
}

// At returns the value at index i, or nil when absent.
func (o *Object) At(i int) any {
	v := o.vals[i]
	if v == absent {
		return nil
	}
	return v
}

// Set gives the attribute a value. Setting an attribute the resource does
// not declare panics: plugins and store only set declared attributes.
func (o *Object) Set(name string, v any) {
	a := o.res.byName[name]
	if a == nil {
		panic(fmt.Sprintf("resource %s has no attribute %q", o.res.Name, name))
	}
	o.vals[a.index] = v
}

// SetAt sets the value at index i.
func (o *Object) SetAt(i int, v any) { o.vals[i] = v }

// Unset makes the attribute absent.
func (o *Object) Unset(name string) {
	if a := o.res.byName[name]; a != nil {
		o.vals[a.index] = absent
	}
}

// String returns a string attribute, or "" when absent, null or not a
// string.
func (o *Object) String(name string) string {
	s, _ := o.Get(name).(string)
	return s
}

// Bool returns a bool attribute, or false.
func (o *Object) Bool(name string) bool {
	b, _ := o.Get(name).(bool)
	return b
}

// Int returns an int attribute, or 0.
func (o *Object) Int(name string) int {
	n, _ := o.Get(name).(int)
	return n
}

// Time returns a time attribute, or the zero time.
func (o *Object) Time(name string) time.Time {
	t, _ := o.Get(name).(time.Time)
	return t
}

// ID returns the "id" attribute.
func (o *Object) ID() string { return o.String("id") }

// Clone returns a shallow copy: values are shared, the slot slice is not.
func (o *Object) Clone() *Object {
	return &Object{res: o.res, vals: append([]any(nil), o.vals...)}
}

// Merge copies every value present in patch into o. Both must be of the
// same resource.
func (o *Object) Merge(patch *Object) {
	for i, v := range patch.vals {
		if v != absent {
			o.vals[i] = v
		}
	}
}

// Present returns the attributes that have values, in declaration order.
func (o *Object) Present() []*Attr {
	var out []*Attr
	for i, v := range o.vals {
		if v != absent {
			out = append(out, o.res.attrs[i])
		}
	}
	return out
}

// Map returns the present values keyed by attribute name, for policy
// targets and debugging.
func (o *Object) Map() map[string]any {
	m := make(map[string]any, len(o.vals))
	for i, v := range o.vals {
		if v != absent {
			m[o.res.attrs[i].Name] = v
		}
	}
	return m
}

// NewWithDefaults returns an object of r holding values and, for every
// attribute a create may set that values lacks, its default: what the API
// builds from a POST body, for plugins that create objects on a caller's
// behalf (auto-allocated topologies).
func NewWithDefaults(r *Resource, values map[string]any) *Object {
	o := New(r)
	for _, a := range r.Attrs() {
		if v, ok := values[a.Name]; ok {
			o.SetAt(a.Index(), v)
		} else if a.AllowPost && a.Default != NotSpecified {
			o.SetAt(a.Index(), a.Default)
		}
	}
	return o
}
