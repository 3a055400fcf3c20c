package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

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
	// selects caches the SELECT with the relations' aggregates (see
	// Store.selects).
	selects atomic.Pointer[selectCache]
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
	s.relGen.Add(1)
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
	out, ok := parseFlatObjects(s, len(keys))
	if !ok {
		out = nil
		if s != "" {
			if err := json.Unmarshal([]byte(s), &out); err != nil {
				return nil, fmt.Errorf("decode related objects: %w", err)
			}
		}
	}
	return sortedObjects(out, keys), nil
}

// parseFlatObjects reads what the engines' JSON aggregates of text
// columns write, a list of flat objects of unescaped strings and nulls
// ([{"subnet_id":"…","ip_address":"…"}], PostgreSQL with spaces), without
// encoding/json's reflection, which was a twentieth of a port's show. It
// reports false for anything else (numbers, escapes, nesting, strings
// that are not UTF-8), which the
// caller hands to encoding/json; "" is an empty list. n sizes the maps.
func parseFlatObjects(s string, n int) ([]map[string]any, bool) {
	i := 0
	skip := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
			i++
		}
	}
	// str reads a string without escapes at i.
	str := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		j := i + 1
		ascii := true
		for j < len(s) && s[j] != '"' {
			if s[j] == '\\' || s[j] < 0x20 {
				return "", false
			}
			ascii = ascii && s[j] < utf8.RuneSelf
			j++
		}
		if j >= len(s) {
			return "", false
		}
		v := s[i+1 : j]
		if !ascii && !utf8.ValidString(v) {
			// encoding/json replaces what is not UTF-8.
			return "", false
		}
		i = j + 1
		return v, true
	}
	if s == "" {
		return nil, true
	}
	skip()
	if i == len(s) || s[i] != '[' {
		return nil, false
	}
	i++
	skip()
	out := []map[string]any{}
	if i < len(s) && s[i] == ']' {
		i++
		skip()
		return out, i == len(s)
	}
	for {
		skip()
		if i >= len(s) || s[i] != '{' {
			return nil, false
		}
		i++
		m := make(map[string]any, n)
		skip()
		if i < len(s) && s[i] == '}' {
			i++
		} else {
			for {
				skip()
				k, ok := str()
				if !ok {
					return nil, false
				}
				skip()
				if i >= len(s) || s[i] != ':' {
					return nil, false
				}
				i++
				skip()
				if strings.HasPrefix(s[i:], "null") {
					m[k] = nil
					i += 4
				} else if v, ok := str(); ok {
					m[k] = v
				} else {
					return nil, false
				}
				skip()
				if i < len(s) && s[i] == ',' {
					i++
					continue
				}
				if i < len(s) && s[i] == '}' {
					i++
					break
				}
				return nil, false
			}
		}
		out = append(out, m)
		skip()
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		if i < len(s) && s[i] == ']' {
			i++
			skip()
			return out, i == len(s)
		}
		return nil, false
	}
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
