package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/neutrino-net/neutrino/internal/fault"
	"github.com/neutrino-net/neutrino/internal/resource"
)

// List returns the objects matching q in one query: filters, tag filters,
// scope, keyset pagination from the marker, sorting and limit all happen
// in SQL, and related lists (tags, a network's subnets) come from
// correlated subqueries rather than a query per row.
func (tx *Tx) List(ctx context.Context, r *resource.Resource, q *resource.Query) ([]*resource.Object, error) {
	t, err := tx.s.table(r)
	if err != nil {
		return nil, err
	}
	var w where
	if err := w.scope(q.Scope); err != nil {
		return nil, err
	}
	for _, f := range q.Filters {
		if rel, ok := tx.s.throughFilter(r.Collection, f.Attr.Name); ok {
			w.through(rel, f)
			continue
		}
		if rel, ok := tx.s.relation(r.Collection, f.Attr.Name); ok && f.Attr.Storage == resource.Related && len(rel.valueCols) == 1 {
			w.through(rel, f)
			continue
		}
		if err := w.filter(f); err != nil {
			return nil, err
		}
	}
	w.tags(q.Tags)
	if ps := q.ParentShared; ps != nil {
		w.parentShared(ps)
	}
	for _, f := range q.SubFilters {
		rel, ok := tx.s.relation(r.Collection, f.Attr.Name)
		if !ok || !slices.Contains(rel.valueCols, f.Key) {
			return nil, fmt.Errorf("store: %s cannot be filtered by %s", f.Attr.Name, f.Key)
		}
		w.subFilter(rel, f)
	}

	// Unfiltered, the rows of a listing ordered by id are all the
	// table's ids between its first and last: their related rows can
	// be read by that range (see loadRelated).
	unfiltered := len(w.conds) == 0
	sorts := q.Sorts
	if q.PageReverse {
		sorts = make([]resource.SortKey, len(q.Sorts))
		for i, s := range q.Sorts {
			sorts[i] = resource.SortKey{Attr: s.Attr, Desc: !s.Desc}
		}
	}
	if c := q.Cursor; c != nil {
		c.ByID = false
		if c.IDOrderIfLong && len(sorts) == 0 && q.Limit > 0 {
			long, err := tx.longerThan(ctx, t, &w, q.Limit)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", r.Collection, err)
			}
			if long {
				sorts = []resource.SortKey{{Attr: r.Attr("id")}}
				c.ByID = true
			}
		}
	}
	switch {
	case len(q.After) > 0 && q.Limit > 0:
		if len(q.After) != len(sorts) {
			return nil, fmt.Errorf("store: %d values to list after, for %d sort keys", len(q.After), len(sorts))
		}
		w.keyset(sorts, q.After)
	case q.Marker != "" && q.Limit > 0:
		if err := tx.afterMarker(ctx, t, &w, sorts, q.Marker); err != nil {
			return nil, err
		}
	}

	// A few rows take their related attributes along (one round trip);
	// a longer listing reads them afterwards, per related table.
	few := fewRows(q)
	// A long filtered listing in id order reads its chunks by the ids
	// its first chunk found (see Cursor.IDs).
	var chunkIDs []any
	byIDs, taken := false, 0
	if c := q.Cursor; c != nil && !few && !unfiltered && q.Limit > 0 && len(sorts) == 1 && sorts[0].Attr.Name == "id" && !sorts[0].Desc {
		if c.IDs == nil && c.ByID {
			ids, err := tx.matchingIDs(ctx, t, &w)
			if err != nil {
				return nil, fmt.Errorf("list %s: %w", r.Collection, err)
			}
			c.IDs = ids
		}
		if c.IDs != nil {
			byIDs = true
			n := min(q.Limit, len(c.IDs))
			taken = n
			chunkIDs = make([]any, n)
			for i, id := range c.IDs[:n] {
				chunkIDs[i] = id
			}
			c.IDs = c.IDs[n:]
		}
	}
	var rels []relation
	var b strings.Builder
	switch {
	case few:
		var sel string
		sel, rels = tx.selectSQL(t)
		b.WriteString(sel)
	default:
		b.WriteString(t.columnsSQL())
	}
	if byIDs {
		// The chunk's rows by their ids, with the listing's conditions
		// asked again of them, as a row may have changed since.
		if len(chunkIDs) == 0 {
			chunkIDs = []any{""}
		}
		w.conds = append([]string{"t.id IN (" + placeholders(len(chunkIDs)) + ")"}, w.conds...)
		w.args = append(chunkIDs, w.args...)
	}
	if len(w.conds) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(w.conds, " AND "))
	}
	if len(sorts) > 0 {
		b.WriteString(" ORDER BY ")
		for i, s := range sorts {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("t." + s.Attr.ColumnName())
			if s.Desc {
				b.WriteString(" DESC")
			}
		}
	}
	if q.Limit > 0 {
		fmt.Fprintf(&b, " LIMIT %d", q.Limit)
	}
	objs, read, err := tx.listThroughReader(ctx, t, few, b.String(), w.args)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.Collection, err)
	}
	if !read {
		rows, err := tx.query(ctx, b.String(), w.args...)
		if err != nil {
			if tx.s.dialect.tooComplex(err) {
				return nil, errTooComplex
			}
			return nil, fmt.Errorf("list %s: %w", r.Collection, err)
		}
		objs, err = tx.scanRows(t, rels, few && t.res.Standard, rows)
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	if !few {
		var span []any
		if unfiltered && len(sorts) > 0 && sorts[0].Attr.Name == "id" && len(objs) > 1 {
			lo, hi := objs[0].ID(), objs[len(objs)-1].ID()
			if sorts[0].Desc {
				lo, hi = hi, lo
			}
			span = []any{lo, hi}
		}
		if err := tx.loadRelated(ctx, t, objs, span); err != nil {
			return nil, err
		}
	}
	if c := q.Cursor; c != nil {
		c.Rows, c.Last = len(objs), nil
		if byIDs {
			// As many rows as ids taken, though some may have gone
			// since: the listing goes on while ids remain.
			c.Rows = taken
		}
		if len(objs) > 0 {
			last := objs[len(objs)-1]
			for _, s := range sorts {
				v, err := encode(s.Attr, last.At(s.Attr.Index()))
				if err != nil {
					return nil, err
				}
				c.Last = append(c.Last, v)
			}
		}
	}
	if q.PageReverse {
		slices.Reverse(objs)
	}
	return objs, nil
}

// listThroughReader reads the rows of a listing's columns-only query q
// on SQLite outside a transaction through the row reader (see
// rowReader.query), and reports whether it did: not for a few rows
// (whose query aggregates related rows), for arguments it cannot bind,
// or when it fails (a statement it could not prepare, a busy database),
// which database/sql then reads (and reports). Like a show's row, a chunk of a listing is too
// short to be worth stopping midway; a request whose context has ended
// does not start it.
func (tx *Tx) listThroughReader(ctx context.Context, t *table, few bool, q string, args []any) ([]*resource.Object, bool, error) {
	if tx.tx != nil || tx.s.rows == nil || few || !rawArgs(args) {
		return nil, false, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	tx.s.queries.Add(1)
	var objs []*resource.Object
	dest := make([]any, len(t.cols))
	err := tx.s.rows.query(q, args, dest, func() error {
		o, err := rowObject(t, nil, false, dest)
		if err != nil {
			return err
		}
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		// A statement the reader cannot prepare, or a failure (a busy
		// database, a connection that cannot be opened), is
		// database/sql's to read and report, as its error, which
		// Read knows to retry.
		return nil, false, nil
	}
	return objs, true, nil
}

// matchingIDs returns the ids of t's rows matching w, in order.
func (tx *Tx) matchingIDs(ctx context.Context, t *table, w *where) ([]string, error) {
	q := "SELECT t.id FROM " + t.name + " t"
	if len(w.conds) > 0 {
		q += " WHERE " + strings.Join(w.conds, " AND ")
	}
	rows, err := tx.query(ctx, q+" ORDER BY t.id", w.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// longerThan reports whether more than n rows of t match w, reading
// none of them.
func (tx *Tx) longerThan(ctx context.Context, t *table, w *where, n int) (bool, error) {
	q := "SELECT 1 FROM " + t.name + " t"
	if len(w.conds) > 0 {
		q += " WHERE " + strings.Join(w.conds, " AND ")
	}
	rows, err := tx.query(ctx, q+fmt.Sprintf(" LIMIT 1 OFFSET %d", n), w.args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	long := rows.Next()
	return long, rows.Err()
}

// afterMarker restricts w to rows strictly after the marker row in the
// given order: (k1 > v1) OR (k1 = v1 AND k2 > v2) OR …
func (tx *Tx) afterMarker(ctx context.Context, t *table, w *where, sorts []resource.SortKey, marker string) error {
	if len(sorts) == 0 {
		return nil
	}
	cols := make([]string, len(sorts))
	for i, s := range sorts {
		cols[i] = s.Attr.ColumnName()
	}
	rows, err := tx.query(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+t.name+" WHERE id = ?", marker)
	if err != nil {
		return fmt.Errorf("read marker %s: %w", marker, err)
	}
	defer rows.Close()
	vals := make([]any, len(sorts))
	ptrs := make([]any, len(sorts))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return ErrMarkerNotFound
	}
	if err := rows.Scan(ptrs...); err != nil {
		return fmt.Errorf("read marker %s: %w", marker, err)
	}
	w.keyset(sorts, vals)
	return nil
}

// keyset restricts w to rows strictly after vals, the values of sorts'
// columns, in that order: (k1 > v1) OR (k1 = v1 AND k2 > v2) OR …
func (w *where) keyset(sorts []resource.SortKey, vals []any) {
	var ors []string
	for i := range sorts {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, "t."+sorts[j].Attr.ColumnName()+" = ?")
			w.args = append(w.args, vals[j])
		}
		op := " > ?"
		if sorts[i].Desc {
			op = " < ?"
		}
		ands = append(ands, "t."+sorts[i].Attr.ColumnName()+op)
		w.args = append(w.args, vals[i])
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	w.conds = append(w.conds, "("+strings.Join(ors, " OR ")+")")
}

// errTooComplex answers a list the engine refused as too large to plan.
// The API bounds what a request may ask for, so this is a safety net: a
// client's request is never a 500.
var errTooComplex = fault.BadRequest("The request is too complex: use fewer filters, tags or sort keys.")

// ErrMarkerNotFound is returned by List when the pagination marker names
// no object.
var ErrMarkerNotFound = fmt.Errorf("marker %w", ErrNotFound)

// where accumulates WHERE conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) scope(s *resource.Scope) error {
	if s == nil {
		return nil
	}
	ors := []string{"t.project_id = ?"}
	w.args = append(w.args, s.ProjectID)
	for _, a := range s.SharedBy {
		ors = append(ors, "t."+a.ColumnName()+" = ?")
		w.args = append(w.args, true)
	}
	if p := s.Parent; p != nil {
		conds := []string{"p.project_id = ?"}
		w.args = append(w.args, s.ProjectID)
		for _, col := range p.SharedBy {
			conds = append(conds, "p."+columnReplacer.Replace(col)+" = ?")
			w.args = append(w.args, true)
		}
		if p.RBACType != "" {
			conds = append(conds, rbacShared("p"))
			w.args = append(w.args, p.RBACType, s.ProjectID)
		}
		ors = append(ors, "t."+p.FK.ColumnName()+" IN (SELECT p.id FROM "+tableName(p.Collection)+" p WHERE "+
			strings.Join(conds, " OR ")+")")
	}
	if s.RBACType != "" {
		ors = append(ors, rbacShared("t"))
		w.args = append(w.args, s.RBACType, s.ProjectID)
	}
	w.conds = append(w.conds, "("+strings.Join(ors, " OR ")+")")
	return nil
}

// parentShared keeps objects by whether their parent is shared with the
// project.
func (w *where) parentShared(ps *resource.ParentShared) {
	cond := "t." + ps.FK.ColumnName() + " IN (SELECT p.id FROM " + tableName(ps.Collection) + " p WHERE p." +
		columnReplacer.Replace(ps.SharedBy) + " = ? OR EXISTS (SELECT 1 FROM rbac_policies r WHERE r.object_type = ?" +
		" AND r.action = 'access_as_shared' AND r.object_id = p.id AND r.target_tenant IN (?, '*')))"
	w.args = append(w.args, true, ps.RBACType, ps.ProjectID)
	if !ps.Shared {
		cond = "NOT " + cond
	}
	w.conds = append(w.conds, cond)
}

// rbacShared is the condition "an RBAC policy shares alias's object with
// the project or with everyone"; its arguments are the object type and the
// project.
func rbacShared(alias string) string {
	return "EXISTS (SELECT 1 FROM rbac_policies r WHERE r.object_type = ? AND r.object_id = " + alias +
		".id AND r.target_tenant IN (?, '*'))"
}

func (w *where) filter(f resource.Filter) error {
	if f.Attr.Storage != resource.Column {
		return fmt.Errorf("store: %s is not a column and cannot be filtered", f.Attr.Name)
	}
	if len(f.Values) == 0 {
		return nil
	}
	marks := make([]string, len(f.Values))
	for i, v := range f.Values {
		marks[i] = "?"
		ev, err := encode(f.Attr, v)
		if err != nil {
			return err
		}
		w.args = append(w.args, ev)
	}
	w.conds = append(w.conds, "t."+f.Attr.ColumnName()+" IN ("+strings.Join(marks, ", ")+")")
	return nil
}

// through keeps objects with a related row whose column is among f's
// values (ports in any of the given security groups, networks on a
// segmentation id).
func (w *where) through(rel relation, f resource.Filter) {
	if len(f.Values) == 0 {
		return
	}
	marks := make([]string, len(f.Values))
	for i, v := range f.Values {
		marks[i] = "?"
		w.args = append(w.args, v)
	}
	w.conds = append(w.conds, "EXISTS (SELECT 1 FROM "+rel.childTable+" c WHERE c."+rel.fkCol+" = t.id AND c."+
		rel.valueCols[0]+" IN ("+strings.Join(marks, ", ")+"))")
}

// subFilter keeps objects with a related row matching f.
func (w *where) subFilter(rel relation, f resource.SubFilter) {
	var ors []string
	if f.Substring {
		for _, v := range f.Values {
			ors = append(ors, "c."+f.Key+" LIKE ? ESCAPE '\\'")
			w.args = append(w.args, "%"+likeEscaper.Replace(v)+"%")
		}
	} else {
		// One IN list, not an OR per value, which would deepen the
		// expression with every value.
		ors = append(ors, "c."+f.Key+" IN ("+placeholders(len(f.Values))+")")
		for _, v := range f.Values {
			w.args = append(w.args, v)
		}
	}
	w.conds = append(w.conds, "EXISTS (SELECT 1 FROM "+rel.childTable+" c WHERE c."+rel.fkCol+" = t.id AND ("+
		strings.Join(ors, " OR ")+"))")
}

// likeEscaper neutralises LIKE wildcards in user input; the store's LIKE
// clauses declare '\' as their escape character.
var likeEscaper = strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`)

// tags adds Neutron's four tag filters: tags (has all), tags-any (has
// one), not-tags (lacks at least one), not-tags-any (has none). Each is
// one subquery over the tags table whatever its number of tags: "has
// all" counts an object's matching tags (GROUP BY … HAVING COUNT), where
// an EXISTS per tag made PostgreSQL's planning and SQLite's expression
// depth grow with every tag.
func (w *where) tags(f resource.TagFilter) {
	in := func(tags []string) string {
		for _, tag := range tags {
			w.args = append(w.args, tag)
		}
		return "g.tag IN (" + placeholders(len(tags)) + ")"
	}
	hasAll := func(tags []string) string {
		tags = distinct(tags)
		cond := "t.id IN (SELECT g.resource_id FROM tags g WHERE " + in(tags) +
			" GROUP BY g.resource_id HAVING COUNT(*) = ?)"
		w.args = append(w.args, len(tags))
		return cond
	}
	hasAny := func(tags []string) string {
		return "EXISTS (SELECT 1 FROM tags g WHERE g.resource_id = t.id AND " + in(tags) + ")"
	}
	if len(f.All) > 0 {
		w.conds = append(w.conds, hasAll(f.All))
	}
	if len(f.Any) > 0 {
		w.conds = append(w.conds, hasAny(f.Any))
	}
	if len(f.NotAll) > 0 {
		w.conds = append(w.conds, "NOT "+hasAll(f.NotAll))
	}
	if len(f.NotAny) > 0 {
		w.conds = append(w.conds, "NOT "+hasAny(f.NotAny))
	}
}

// distinct returns ss without repeats, in order; the store's tags are a
// set, so counting matches must count each tag once.
func distinct(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// fewObjects is the largest limit for which a listing's related
// attributes come along in the same query, from a correlated subquery per
// row and relation, as they do for reads that name their objects by id:
// cheaper than a query per related table for a show, a lookup or a short
// page, far dearer for a listing of thousands.
const fewObjects = 16

// fewRows reports whether q reads few rows: a short page, or objects named
// by id (however many, so such a read costs the same queries for 2 ids
// or 20).
func fewRows(q *resource.Query) bool {
	if q.Limit > 0 && q.Limit <= fewObjects {
		return true
	}
	for _, f := range q.Filters {
		if f.Attr.Name == "id" {
			return true
		}
	}
	return false
}
