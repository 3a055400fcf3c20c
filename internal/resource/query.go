package resource

// Filter selects objects whose attribute equals any of Values (a repeated
// query parameter means OR, as in Neutron).
type Filter struct {
	Attr   *Attr
	Values []any
}

// SubFilter selects objects with at least one element of a list-of-objects
// attribute whose Key equals one of Values (or contains it, with
// Substring): Neutron's "fixed_ips=ip_address=10.0.0.5" filters.
type SubFilter struct {
	Attr      *Attr
	Key       string
	Values    []string
	Substring bool
}

// SortKey orders a list by one attribute.
type SortKey struct {
	Attr *Attr
	Desc bool
}

// TagFilter holds the tag-extension filters: tags (all of), tags-any,
// not-tags (not all of), not-tags-any.
type TagFilter struct {
	All, Any, NotAll, NotAny []string
}

// Empty reports whether no tag filter is set.
func (t TagFilter) Empty() bool {
	return len(t.All)+len(t.Any)+len(t.NotAll)+len(t.NotAny) == 0
}

// Scope limits a query to what a project may see: its own objects, plus
// objects where any of the SharedBy boolean attributes is true (a shared
// or external network). A nil Scope sees everything (an admin).
type Scope struct {
	ProjectID string
	SharedBy  []*Attr
	// Parent, when set, also admits objects whose parent is visible.
	Parent *ParentScope
	// RBACType, when set, also admits objects an RBAC policy of that
	// object type shares with the project (or with every project).
	RBACType string
}

// ParentScope admits objects whose parent, referenced by FK, is owned by
// the scope's project or has any of the SharedBy boolean attributes true.
type ParentScope struct {
	FK         *Attr
	Collection string
	SharedBy   []string
	// RBACType, when set, also admits parents shared by RBAC.
	RBACType string
}

// ParentShared selects objects whose parent (referenced by FK, in table
// Collection) is shared with ProjectID (Shared) or is not (!Shared):
// shared when its boolean SharedBy attribute is true or an
// access_as_shared RBAC policy of RBACType shares it with the project or
// with everyone. It is Neutron's "shared" filter on subnets, which
// Neutron answers from their network's RBAC policies.
type ParentShared struct {
	FK         *Attr
	Collection string
	SharedBy   string
	RBACType   string
	ProjectID  string
	Shared     bool
}

// Query is a list request after the API has parsed and validated it.
type Query struct {
	Filters    []Filter
	SubFilters []SubFilter
	Tags       TagFilter
	// Sorts always ends with a unique key when paginating, so pages are
	// stable; the API appends "id" if the caller did not sort by it.
	Sorts []SortKey
	// Limit is 0 for no limit.
	Limit       int
	Marker      string
	PageReverse bool
	Scope       *Scope
	// ParentShared, when set, keeps objects by whether their parent is
	// shared with the caller.
	ParentShared *ParentShared
	// After continues a listing where an earlier query of it stopped:
	// only objects strictly after these values of Sorts (as a Cursor
	// reported them) are read. It takes the place of Marker, and unlike
	// a marker it needs no row to still exist.
	After []any
	// Cursor, when set, receives where the store's query stopped, so a
	// large listing can be read a chunk at a time. It is a pointer so
	// that handlers copying the Query still report into it.
	Cursor *Cursor
}

// Cursor is where a list query stopped, as the store read it: before any
// handler filtered or changed the objects.
type Cursor struct {
	// Rows is how many rows the query read.
	Rows int
	// Last holds the last row's values of the query's Sorts, in order;
	// nil when no row was read.
	Last []any
	// IDOrderIfLong asks the store to read an unsorted query in id order
	// when more rows than its Limit match, and ByID reports that it did:
	// the API shows a long unsorted listing in id order, and would
	// otherwise read its first chunk twice.
	IDOrderIfLong, ByID bool
	// IDs, when not nil, are the ids of the rows after those read, in
	// order: for a long filtered listing in id order (a project's ports,
	// which the engine finds by project and by network and must sort),
	// the store reads every matching id at once with its first chunk and
	// each chunk after it by the next of these ids, rather than find and
	// sort every remaining row again for each chunk. Pass it on to the
	// query of the next chunk.
	IDs []string
}
