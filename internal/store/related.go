package store

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// loadRelated fills the related attributes of objs, just read from t by
// their columns (columnsSQL): each relation's values and, for a standard
// resource, the tags. It sends one query per related table for up to
// maxInList objects and joins the rows to their objects by id here,
// rather than a correlated subquery per row as selectSQL does, which
// costs an aggregate per row and, for objects, a JSON document built by
// the engine and decoded here: most of a long listing's time. The
// values are those selectSQL's aggregates decode to: a relation's
// strings sorted, its objects sorted by their value columns, with
// numbers as JSON numbers (float64).
//
// span, when not nil, holds the lowest and highest id of objs, which are
// all the table's ids between them (an unfiltered listing ordered by
// id): the related rows are then read by that range of their foreign
// key, one index range scan instead of a lookup per id, and rows of ids
// not in objs (another table's tags, a row added meanwhile) are skipped.
func (tx *Tx) loadRelated(ctx context.Context, t *table, objs []*resource.Object, span []any) error {
	if len(objs) == 0 {
		return nil
	}
	tx.s.mu.RLock()
	rels := tx.s.relations[t.res.Collection]
	tx.s.mu.RUnlock()
	byID := make(map[string]int, len(objs))
	ids := make([]any, len(objs))
	for i, o := range objs {
		byID[o.ID()] = i
		ids[i] = o.ID()
	}
	for _, r := range rels {
		a := t.res.Attr(r.attr)
		if a == nil {
			continue
		}
		if err := tx.loadRelation(ctx, objs, a, byID, ids, span, r.childTable, r.fkCol, r.valueCols); err != nil {
			return fmt.Errorf("%s.%s: %w", t.name, r.attr, err)
		}
	}
	if a := t.res.Attr("tags"); t.res.Standard && a != nil {
		if err := tx.loadRelation(ctx, objs, a, byID, ids, span, "tags", "resource_id", []string{"tag"}); err != nil {
			return fmt.Errorf("%s tags: %w", t.name, err)
		}
	}
	return nil
}

// loadRelation sets attribute a of each object from the rows of
// childTable whose fkCol is its id: the one value column's strings, or
// objects keyed by the value columns. The rows are read by ids, or by
// span when it is given (see loadRelated).
func (tx *Tx) loadRelation(ctx context.Context, objs []*resource.Object, a *resource.Attr, byID map[string]int, ids, span []any, childTable, fkCol string, valueCols []string) error {
	strs := len(valueCols) == 1
	var lists [][]string
	var maps [][]map[string]any
	if strs {
		lists = make([][]string, len(objs))
	} else {
		maps = make([][]map[string]any, len(objs))
	}
	sel := "SELECT c." + fkCol + ", c." + strings.Join(valueCols, ", c.") + " FROM " + childTable + " c WHERE c." + fkCol
	raw := make([]any, 1+len(valueCols))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	queries := func(yield func(string, []any) bool) {
		if span != nil {
			yield(sel+" >= ? AND c."+fkCol+" <= ?", span)
			return
		}
		for chunk := range slices.Chunk(ids, maxInList) {
			if !yield(sel+" IN ("+placeholders(len(chunk))+")", chunk) {
				return
			}
		}
	}
	var lens []int
	if tx.tx == nil && tx.s.rows != nil {
		lens = make([]int, len(objs))
	}
	// row adds the row in raw to its object's values.
	row := func() error {
		i, ok := byID[relatedString(raw[0])]
		if !ok {
			return nil
		}
		if strs {
			lists[i] = append(lists[i], relatedString(raw[1]))
			return nil
		}
		m := make(map[string]any, len(valueCols))
		for k, c := range valueCols {
			m[c] = relatedValue(raw[1+k])
		}
		maps[i] = append(maps[i], m)
		return nil
	}
	for q, args := range queries {
		if tx.tx == nil && tx.s.rows != nil && rawArgs(args) {
			// On SQLite outside a transaction, through the row
			// reader, as the listing's own rows (see
			// listThroughReader).
			if err := ctx.Err(); err != nil {
				return err
			}
			tx.s.queries.Add(1)
			// Should the reader fail midway (a busy database, say),
			// the rows it added go and database/sql reads them all
			// again below, to report the driver's error, which Read
			// knows to retry.
			if strs {
				for i, l := range lists {
					lens[i] = len(l)
				}
			} else {
				for i, m := range maps {
					lens[i] = len(m)
				}
			}
			if err := tx.s.rows.query(q, args, raw, row); err == nil {
				continue
			}
			if strs {
				for i := range lists {
					lists[i] = lists[i][:lens[i]]
				}
			} else {
				for i := range maps {
					maps[i] = maps[i][:lens[i]]
				}
			}
		}
		rows, err := tx.query(ctx, q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return err
			}
			if err := row(); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	for i, o := range objs {
		if strs {
			l := lists[i]
			if l == nil {
				l = []string{}
			}
			sort.Strings(l)
			o.SetAt(a.Index(), l)
			continue
		}
		o.SetAt(a.Index(), sortedObjects(maps[i], valueCols))
	}
	return nil
}

// relatedString is a scanned text value as a string.
func relatedString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case []byte:
		return string(t)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// relatedValue is a scanned value as the engines' JSON aggregates show
// it once decoded: text a string, a number a float64.
func relatedValue(v any) any {
	switch t := v.(type) {
	case []byte:
		return string(t)
	case int64:
		return float64(t)
	case int32:
		return float64(t)
	case int:
		return float64(t)
	}
	return v
}

// sortedObjects sorts related objects by the keys' string values in turn,
// as decodeObjects does, so replies are stable.
func sortedObjects(out []map[string]any, keys []string) []any {
	if len(out) > 1 {
		slices.SortStableFunc(out, func(a, b map[string]any) int {
			for _, k := range keys {
				x, _ := a[k].(string)
				y, _ := b[k].(string)
				if c := strings.Compare(x, y); c != 0 {
					return c
				}
			}
			return 0
		})
	}
	res := make([]any, len(out))
	for i, m := range out {
		res[i] = m
	}
	return res
}
