package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// eval reports whether the check holds for target and creds.
func (n *node) eval(t Target, c *Credentials) bool {
	switch n.op {
	case opAlways:
		return true
	case opAnd:
		for _, k := range n.kids {
			if !k.eval(t, c) {
				return false
			}
		}
		return true
	case opOr:
		for _, k := range n.kids {
			if k.eval(t, c) {
				return true
			}
		}
		return false
	case opNot:
		return !n.kids[0].eval(t, c)
	case opRule:
		return n.target != nil && n.target.eval(t, c)
	case opRole:
		want, ok := n.match.render(t)
		if !ok {
			return false
		}
		for _, r := range c.Roles {
			if strings.EqualFold(r, want) {
				return true
			}
		}
		return false
	case opGeneric:
		want, ok := n.match.render(t)
		if !ok {
			return false
		}
		return n.credMatches(c, want)
	case opField:
		return n.field.matches(t)
	default: // opNever, opUnsupported
		return false
	}
}

// credMatches compares the left-hand side of a generic check with want, the
// rendered right-hand side. Empty credential strings stand for an absent
// value and never match.
func (n *node) credMatches(c *Credentials, want string) bool {
	switch n.cred {
	case credLiteral:
		return n.literal == want
	case credUserID:
		return c.UserID != "" && c.UserID == want
	case credProjectID:
		return c.ProjectID != "" && c.ProjectID == want
	case credDomainID:
		return c.DomainID != "" && c.DomainID == want
	case credSystemScope:
		return c.SystemScope != "" && c.SystemScope == want
	case credIsAdmin:
		return pyBool(c.IsAdmin) == want
	case credRoles:
		for _, r := range c.Roles {
			if r == want {
				return true
			}
		}
	}
	return false
}

// render formats the template against the target. It reports false when a
// referenced key is missing, as oslo does on KeyError.
func (tm *template) render(t Target) (string, bool) {
	switch len(tm.parts) {
	case 0:
		return "", true
	case 1:
		p := &tm.parts[0]
		if !p.ref {
			return p.text, true
		}
		v, ok := lookup(t, p)
		if !ok {
			return "", false
		}
		return pyStr(v), true
	}
	var b strings.Builder
	for i := range tm.parts {
		p := &tm.parts[i]
		if !p.ref {
			b.WriteString(p.text)
			continue
		}
		v, ok := lookup(t, p)
		if !ok {
			return "", false
		}
		b.WriteString(pyStr(v))
	}
	return b.String(), true
}

// lookup finds a referenced key in the target: the key itself first, then,
// for dotted keys, a walk through nested maps ("target.network.id").
func lookup(t Target, p *tmplPart) (any, bool) {
	if v, ok := t[p.text]; ok {
		return v, true
	}
	if p.path == nil {
		return nil, false
	}
	var cur any = map[string]any(t)
	for _, seg := range p.path {
		var (
			v  any
			ok bool
		)
		switch m := cur.(type) {
		case map[string]any:
			v, ok = m[seg]
		case Target:
			v, ok = m[seg]
		case map[string]string:
			v, ok = m[seg]
		}
		if !ok {
			return nil, false
		}
		cur = v
	}
	return cur, true
}

// matches reports whether the field check holds for the target. The
// attribute is read from the target directly, or else from the
// parent-qualified key ("network:shared" for field:networks:shared=…) that
// callers fill in for child resources such as ports and subnets.
func (f *fieldCheck) matches(t Target) bool {
	v, ok := t[f.attr]
	if !ok {
		v, ok = t[f.altKey]
	}
	if !ok || v == nil {
		return false
	}
	if f.re != nil {
		s, ok := v.(string)
		return ok && f.re.MatchString(s)
	}
	switch x := v.(type) {
	case string:
		return x == f.value
	case bool:
		return f.boolOK && x == f.boolVal
	}
	if num, ok := toFloat(v); ok {
		return f.numOK && num == f.numVal
	}
	return pyStr(v) == f.value
}

// toFloat converts numeric values to float64.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), true
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// pyBool is Python's str() of a bool.
func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// pyStr renders a target value the way Python's str() does, which is what
// oslo compares after %-formatting: True/False for bools, None for nil,
// Python list and dict syntax for collections.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return pyBool(x)
	case nil:
		return "None"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return pyFloat(x)
	case float32:
		return pyFloat(float64(x))
	case json.Number:
		return x.String()
	case fmt.Stringer:
		return x.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.Slice, reflect.Array, reflect.Map:
		return pyRepr(v)
	}
	return fmt.Sprint(v)
}

// pyRepr renders a value the way Python's repr() does.
func pyRepr(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(strings.ReplaceAll(x, `\`, `\\`), "'", `\'`) + "'"
	case nil, bool, int, int64, float64, float32, json.Number:
		return pyStr(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = pyRepr(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Map:
		keys := rv.MapKeys()
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyRepr(k.Interface()) + ": " + pyRepr(rv.MapIndex(k).Interface())
		}
		slices.Sort(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return pyStr(v)
}

// pyFloat renders a float the way Python's str() does: integral values keep
// a ".0", and exponent notation is used outside [1e-4, 1e16).
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		return strconv.FormatFloat(f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// decide evaluates the check for creds alone, as far as they decide it
// whatever the target: known is false when the result depends on the
// target (a field check, a template that reads the target).
func (n *node) decide(c *Credentials) (result, known bool) {
	switch n.op {
	case opAlways:
		return true, true
	case opAnd, opOr:
		// An and is decided by one false kid, an or by one true kid;
		// otherwise by all its kids being known.
		decisive := n.op == opOr
		known = true
		for _, k := range n.kids {
			r, ok := k.decide(c)
			if ok && r == decisive {
				return decisive, true
			}
			known = known && ok
		}
		return !decisive, known
	case opNot:
		r, ok := n.kids[0].decide(c)
		return !r, ok
	case opRule:
		if n.target == nil {
			return false, true
		}
		return n.target.decide(c)
	case opRole, opGeneric:
		if !n.match.static() {
			return false, false
		}
		return n.eval(nil, c), true
	case opField:
		return false, false
	default: // opNever, opUnsupported
		return false, true
	}
}

// evalKnown is eval with the target's keys for which unknown is true
// not known yet: known is false when the result depends on one of them.
// Whatever values those keys turn out to have (or if they stay absent),
// a known result is eval's.
func (n *node) evalKnown(t Target, c *Credentials, unknown func(string) bool) (result, known bool) {
	switch n.op {
	case opAnd, opOr:
		decisive := n.op == opOr
		known = true
		for _, k := range n.kids {
			r, ok := k.evalKnown(t, c, unknown)
			if ok && r == decisive {
				return decisive, true
			}
			known = known && ok
		}
		return !decisive, known
	case opNot:
		r, ok := n.kids[0].evalKnown(t, c, unknown)
		return !r, ok
	case opRule:
		if n.target == nil {
			return false, true
		}
		return n.target.evalKnown(t, c, unknown)
	case opRole, opGeneric:
		if n.match.reads(unknown) {
			return false, false
		}
	case opField:
		if unknown(n.field.attr) || unknown(n.field.altKey) {
			return false, false
		}
	}
	return n.eval(t, c), true
}

// reads reports whether the template reads a key for which unknown is
// true (a dotted key by its first part, too).
func (tm *template) reads(unknown func(string) bool) bool {
	for i := range tm.parts {
		p := &tm.parts[i]
		if p.ref && (unknown(p.text) || len(p.path) > 0 && unknown(p.path[0])) {
			return true
		}
	}
	return false
}

// static reports whether the template reads nothing from the target.
func (tm *template) static() bool {
	for i := range tm.parts {
		if tm.parts[i].ref {
			return false
		}
	}
	return true
}
