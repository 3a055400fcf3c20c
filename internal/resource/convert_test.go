package resource

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestToBool(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want any
		err  string
	}{
		{true, true, ""}, {false, false, ""},
		{"true", true, ""}, {"True", true, ""}, {"YES", true, ""}, {"on", true, ""}, {"1", true, ""}, {"t", true, ""},
		{"false", false, ""}, {"False", false, ""}, {"no", false, ""}, {"off", false, ""}, {"0", false, ""},
		{json.Number("1"), true, ""}, {json.Number("0"), false, ""},
		{json.Number("2"), nil, "'2' cannot be converted to boolean"},
		{"maybe", nil, "'maybe' cannot be converted to boolean"},
		{nil, nil, "'None' cannot be converted to boolean"},
		{[]any{}, nil, "'[]' cannot be converted to boolean"},
	} {
		got, err := ToBool(tc.in)
		checkConversion(t, "ToBool", tc.in, got, err, tc.want, tc.err)
	}
}

func TestToInt(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want any
		err  string
	}{
		{json.Number("1450"), 1450, ""}, {json.Number("-3"), -3, ""}, {"42", 42, ""}, {json.Number("9.7"), 9, ""},
		{true, 1, ""}, {"x", nil, "'x' is not an integer"}, {nil, nil, "'None' is not an integer"},
	} {
		got, err := ToInt(tc.in)
		checkConversion(t, "ToInt", tc.in, got, err, tc.want, tc.err)
	}
}

func checkConversion(t *testing.T, fn string, in, got any, err error, want any, wantErr string) {
	t.Helper()
	if wantErr != "" {
		var ce *ConvertError
		if !errors.As(err, &ce) || ce.Reason != wantErr {
			t.Errorf("%s(%#v) error %v, want ConvertError %q", fn, in, err, wantErr)
		}
		return
	}
	if err != nil || got != want {
		t.Errorf("%s(%#v) = %#v, %v; want %#v", fn, in, got, err, want)
	}
}

func TestValidators(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    func(any) error
		in   any
		err  string
	}{
		{"name ok", NameString(10), "net-1", ""},
		{"name empty", NameString(10), "", ""},
		{"name inner space", NameString(10), "a b", ""},
		{"name leading space", NameString(10), " a", "' a' is not a valid string"},
		{"name trailing tab", NameString(10), "a\t", "is not a valid string"},
		{"name control", NameString(10), "a\x00b", "is not a valid string"},
		{"name too long", NameString(3), "abcd", "'abcd' exceeds maximum length of 3"},
		{"name unicode length", NameString(3), "äöü", ""},
		{"string not string", MaxLen(3), json.Number("5"), "'5' is not a valid string"},
		{"uuid ok", UUID, "5b4a3f1e-8c2d-4e6f-9a0b-1c2d3e4f5a6b", ""},
		{"uuid bad", UUID, "not-a-uuid", "'not-a-uuid' is not a valid UUID"},
		{"non-negative ok", NonNegative, 0, ""},
		{"non-negative bad", NonNegative, -1, "'-1' should be non-negative"},
		{"unique ok", UniqueStrings(0), []string{"a", "b"}, ""},
		{"unique dup", UniqueStrings(0), []string{"a", "a"}, "Duplicate items in the list: 'a'"},
		{"all", All(MaxLen(5), NameString(5)), " x", "is not a valid string"},
	} {
		err := tc.v(tc.in)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestConvertValue(t *testing.T) {
	name := &Attr{Name: "name", Kind: String, Validate: NameString(5)}
	hints := &Attr{Name: "hints", Kind: StringList, Validate: UniqueStrings(0)}
	scope := &Attr{Name: "scope", Kind: String, Nullable: true}
	for _, tc := range []struct {
		a        *Attr
		in, want any
		err      string
	}{
		{name, "abc", "abc", ""},
		{name, json.Number("1"), nil, "Invalid input for name. Reason: '1' is not a valid string."},
		{name, "abcdef", nil, "Invalid input for name. Reason: 'abcdef' exceeds maximum length of 5."},
		{hints, []any{"a", "b"}, []string{"a", "b"}, ""},
		{hints, []any{"a", json.Number("1")}, nil, "'1' is not a valid string"},
		{hints, "a", nil, "'a' is not a list"},
		{scope, nil, nil, ""},
		{name, nil, nil, "'None' is not a valid string"},
	} {
		got, err := ConvertValue(tc.a, tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s(%#v): error %v, want %q", tc.a.Name, tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s(%#v) = %#v, %v; want %#v", tc.a.Name, tc.in, got, err, tc.want)
		}
	}
}

func TestPyStr(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want string
	}{
		{nil, "None"}, {true, "True"}, {"s", "s"}, {json.Number("1.5"), "1.5"},
		{[]any{"a", json.Number("1"), nil}, "['a', 1, None]"},
		{map[string]any{"b": "x", "a": true}, "{'a': True, 'b': 'x'}"},
	} {
		if got := PyStr(tc.in); got != tc.want {
			t.Errorf("PyStr(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestRestrictDropsDisabledExtensions(t *testing.T) {
	r := NewResource("thing", "things",
		&Attr{Name: "id"},
		&Attr{Name: "mtu", AllowPost: true, AllowPut: true, Extension: "net-mtu", WriteExtension: "net-mtu-writable"},
		&Attr{Name: "hidden", Extension: "off"},
	)
	got := r.Restrict(func(alias string) bool { return alias == "net-mtu" })
	if got.Attr("hidden") != nil || got.Attr("mtu") == nil {
		t.Fatalf("restrict kept %v", got.Attrs())
	}
	if got.Attr("mtu").AllowPost || got.Attr("mtu").AllowPut {
		t.Error("mtu writable without net-mtu-writable")
	}
	if r.Attr("mtu").AllowPost != true {
		t.Error("Restrict changed the original")
	}
	if got.Attr("mtu").Index() != 1 {
		t.Errorf("mtu index %d", got.Attr("mtu").Index())
	}
}

// FuzzConvertValue checks that no input makes conversion panic, and that
// whatever converts is of the attribute's kind.
func FuzzConvertValue(f *testing.F) {
	for _, s := range []string{`"abc"`, `true`, `1`, `null`, `["a","b"]`, `{"a":1}`, `"  x"`, `1e400`} {
		f.Add(s)
	}
	attrs := []*Attr{
		{Name: "name", Kind: String, Validate: NameString(255)},
		{Name: "flag", Kind: Bool},
		{Name: "mtu", Kind: Int, Validate: NonNegative},
		{Name: "hints", Kind: StringList, Validate: UniqueStrings(0)},
	}
	f.Fuzz(func(t *testing.T, raw string) {
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		for _, a := range attrs {
			got, err := ConvertValue(a, v)
			if err != nil {
				continue
			}
			var ok bool
			switch a.Kind {
			case String:
				_, ok = got.(string)
			case Bool:
				_, ok = got.(bool)
			case Int:
				_, ok = got.(int)
			case StringList:
				_, ok = got.([]string)
			}
			if !ok {
				t.Errorf("%s: %q converted to %T", a.Name, raw, got)
			}
		}
	})
}
