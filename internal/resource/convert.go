package resource

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ConvertError is a value that cannot be converted to its attribute's
// kind. Neutron's converters raise InvalidInput for these, so the API
// reports them as InvalidInput rather than as a validation failure.
type ConvertError struct{ Reason string }

func (e *ConvertError) Error() string { return e.Reason }

// ValidationError is a converted value a validator refused. Reason is the
// validator's human explanation.
type ValidationError struct {
	Attr   string
	Reason string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("Invalid input for %s. Reason: %s.", e.Attr, e.Reason)
}

// ConvertValue turns a decoded JSON value into a's kind and validates it.
// Errors are *ConvertError or *ValidationError.
func ConvertValue(a *Attr, v any) (any, error) {
	if v == nil && a.Nullable {
		return nil, nil
	}
	var err error
	if a.Convert != nil {
		v, err = a.Convert(v)
	} else {
		v, err = convertKind(a, v)
	}
	if err != nil {
		return nil, err
	}
	if v == nil && a.Nullable {
		return nil, nil
	}
	if a.Validate != nil {
		if verr := a.Validate(v); verr != nil {
			return nil, &ValidationError{Attr: a.Name, Reason: verr.Error()}
		}
	}
	return v, nil
}

func convertKind(a *Attr, v any) (any, error) {
	switch a.Kind {
	case Bool:
		return ToBool(v)
	case Int:
		return ToInt(v)
	case String:
		s, ok := v.(string)
		if !ok {
			return nil, &ValidationError{Attr: a.Name, Reason: fmt.Sprintf("'%s' is not a valid string", PyStr(v))}
		}
		return s, nil
	case StringList:
		return ToStringList(a.Name, v)
	case JSON:
		return v, nil
	}
	return nil, &ValidationError{Attr: a.Name, Reason: fmt.Sprintf("'%s' cannot be set", PyStr(v))}
}

// ToBool converts like neutron-lib's convert_to_boolean (oslo's strict
// bool_from_string): bools, 0/1, and the usual true/false words.
func ToBool(v any) (any, error) {
	switch t := v.(type) {
	case bool:
		return t, nil
	case json.Number:
		switch t.String() {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "1", "t", "true", "on", "y", "yes":
			return true, nil
		case "0", "f", "false", "off", "n", "no":
			return false, nil
		}
	}
	return nil, &ConvertError{Reason: fmt.Sprintf("'%s' cannot be converted to boolean", PyStr(v))}
}

// ToInt converts like neutron-lib's convert_to_int: numbers and numeric
// strings.
func ToInt(v any) (any, error) {
	switch t := v.(type) {
	case int:
		return t, nil
	case json.Number:
		if n, err := strconv.Atoi(t.String()); err == nil {
			return n, nil
		}
		// Python's int() truncates floats.
		if f, err := t.Float64(); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return int(f), nil
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(t)); err == nil {
			return n, nil
		}
	case bool:
		if t {
			return 1, nil
		}
		return 0, nil
	}
	return nil, &ConvertError{Reason: fmt.Sprintf("'%s' is not an integer", PyStr(v))}
}

// ToStringList accepts a JSON list of strings.
func ToStringList(attr string, v any) (any, error) {
	items, ok := v.([]any)
	if !ok {
		if ss, ok := v.([]string); ok {
			return ss, nil
		}
		return nil, &ValidationError{Attr: attr, Reason: fmt.Sprintf("'%s' is not a list", PyStr(v))}
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, &ValidationError{Attr: attr, Reason: fmt.Sprintf("'%s' is not a valid string", PyStr(it))}
		}
		out = append(out, s)
	}
	return out, nil
}

// ConvertFilter turns one query-string filter value into a's kind, the way
// Neutron applies convert_to to filters.
func ConvertFilter(a *Attr, raw string) (any, error) {
	switch a.Kind {
	case Bool:
		return ToBool(raw)
	case Int:
		return ToInt(raw)
	case Time:
		for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05"} {
			if t, err := time.Parse(layout, raw); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, &ValidationError{Attr: a.Name, Reason: fmt.Sprintf("'%s' is not a valid timestamp", raw)}
	}
	if a.Convert != nil && a.Kind == String {
		return a.Convert(raw)
	}
	return raw, nil
}

// PyStr formats a decoded JSON value as Python's str() would, because
// Neutron's messages interpolate values that way ('True', 'None', "['a']").
func PyStr(v any) string {
	switch t := v.(type) {
	case nil:
		return "None"
	case bool:
		if t {
			return "True"
		}
		return "False"
	case string:
		return t
	case json.Number:
		return t.String()
	case []any:
		parts := make([]string, len(t))
		for i, it := range t {
			parts[i] = pyRepr(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []string:
		parts := make([]string, len(t))
		for i, it := range t {
			parts[i] = pyRepr(it)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(t))
		for _, k := range keys {
			parts = append(parts, pyRepr(k)+": "+pyRepr(t[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func pyRepr(v any) string {
	if s, ok := v.(string); ok {
		return "'" + s + "'"
	}
	return PyStr(v)
}
