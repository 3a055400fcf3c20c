package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/neutrino-net/neutrino/internal/resource"
)

// TimeFormat is how timestamps are stored and shown: Neutron's API shows
// whole seconds in UTC with a "Z"; stored as text this sorts
// chronologically on every engine.
const TimeFormat = "2006-01-02T15:04:05Z"

// table maps a resource onto its SQL table.
type table struct {
	res  *resource.Resource
	name string
	// cols are the column-stored attributes, in resource order; selectList
	// is their SELECT list.
	cols       []*resource.Attr
	selectList string
}

func newTable(r *resource.Resource) *table {
	t := &table{res: r, name: tableName(r.Collection)}
	var names []string
	for _, a := range r.Attrs() {
		if a.Storage != resource.Column {
			continue
		}
		t.cols = append(t.cols, a)
		names = append(names, "t."+a.ColumnName())
	}
	t.selectList = strings.Join(names, ", ")
	return t
}

// columnReplacer turns attribute names into column names, as
// resource.Attr.ColumnName does.
var columnReplacer = strings.NewReplacer(":", "_", "-", "_")

// tableName derives a table name from a collection name
// ("security-groups" → "security_groups").
func tableName(collection string) string {
	return strings.ReplaceAll(collection, "-", "_")
}

// relation is an attribute loaded from another table, in one correlated
// subquery so a list stays one query: with one value column, the values of
// that column in childTable rows whose fkCol equals the object's id
// (joined by ','); with several, a JSON list of objects keyed by column.
type relation struct {
	attr       string
	childTable string
	fkCol      string
	valueCols  []string
}

// Relate declares that attr of collection is loaded from childTable rows
// whose fkCol is the object's id: a list of strings for one value column
// (a network's subnets are the ids of subnets with that network_id), a
// list of objects for several (a port's fixed_ips are the subnet_id and
// ip_address of its IP allocations). Writing those rows is the plugin's
// business.
func (s *Store) Relate(collection, attr, childTable, fkCol string, valueCols ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.relations[collection] = append(s.relations[collection], relation{attr, childTable, fkCol, valueCols})
}

func (s *Store) relation(collection, attr string) (relation, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.relations[collection] {
		if r.attr == attr {
			return r, true
		}
	}
	return relation{}, false
}

// decodeObjects decodes a JSON-aggregated relation into a list of objects,
// sorted by the first value column's values so replies are stable.
func decodeObjects(v any, keys []string) ([]any, error) {
	var s string
	switch t := v.(type) {
	case nil:
		return []any{}, nil
	case string:
		s = t
	case []byte:
		s = string(t)
	}
	var out []map[string]any
	if s != "" {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			return nil, fmt.Errorf("decode related objects: %w", err)
		}
	}
	return sortedObjects(out, keys), nil
}

// encode turns an Object value into an SQL argument for a's column.
func encode(a *resource.Attr, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch a.Kind {
	case resource.StringList, resource.JSON:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", a.Name, err)
		}
		return string(b), nil
	case resource.Time:
		t, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("encode %s: %T is not a time", a.Name, v)
		}
		return t.UTC().Format(TimeFormat), nil
	}
	return v, nil
}

// decode turns a scanned SQL value into a's kind.
func decode(a *resource.Attr, v any) (any, error) {
	if v == nil {
		if a.Nullable || a.StoredNull {
			return nil, nil
		}
		return zero(a.Kind), nil
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch a.Kind {
	case resource.Bool:
		switch t := v.(type) {
		case bool:
			return v, nil
		case int64:
			return t != 0, nil
		}
	case resource.Int:
		switch t := v.(type) {
		case int64:
			return int(t), nil
		case int32:
			return int(t), nil
		}
	case resource.String:
		// v itself, already boxed: returning the string re-boxed it, an
		// allocation per column of every row read.
		if _, ok := v.(string); ok {
			return v, nil
		}
	case resource.Time:
		switch t := v.(type) {
		case string:
			return parseTime(t)
		case time.Time:
			return t.UTC(), nil
		}
	case resource.StringList:
		if s, ok := v.(string); ok {
			if s == "[]" {
				return []string{}, nil
			}
			var out []string
			if err := json.Unmarshal([]byte(s), &out); err != nil {
				return nil, fmt.Errorf("decode %s: %w", a.Name, err)
			}
			if out == nil {
				out = []string{}
			}
			return out, nil
		}
	case resource.JSON:
		if s, ok := v.(string); ok {
			// Most JSON columns hold an empty object or list; skip the
			// decoder for those, it dominates large port lists otherwise.
			switch s {
			case "{}":
				return map[string]any{}, nil
			case "[]":
				return []any{}, nil
			}
			var out any
			if err := json.Unmarshal([]byte(s), &out); err != nil {
				return nil, fmt.Errorf("decode %s: %w", a.Name, err)
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("decode %s: unexpected %T from database", a.Name, v)
}

// parseTime reads a timestamp stored in TimeFormat. Every row read
// holds two, and time.Parse, which first works out the layout, cost as
// much as the rest of a port's columns together in long listings; what
// is not in exactly this form goes to time.Parse.
func parseTime(s string) (time.Time, error) {
	if len(s) != len(TimeFormat) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Parse(TimeFormat, s)
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Parse(TimeFormat, s)
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d {
		// 31 April and the like: time.Parse's error.
		return time.Parse(TimeFormat, s)
	}
	return t, nil
}

func zero(k resource.Kind) any {
	switch k {
	case resource.Bool:
		return false
	case resource.Int:
		return 0
	case resource.StringList:
		return []string{}
	case resource.Time:
		return time.Time{}
	case resource.JSON:
		return nil
	}
	return ""
}

// splitAggregate turns a ','-joined aggregate into a sorted list; sorting
// makes replies stable whatever order the engine aggregated in.
func splitAggregate(v any) []string {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case []byte:
		s = string(t)
	}
	if s == "" {
		return []string{}
	}
	out := strings.Split(s, ",")
	sort.Strings(out)
	return out
}
