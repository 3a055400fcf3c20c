package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestParseFlatObjects checks the JSON aggregates' reader against
// encoding/json: the same objects where it reads them, a refusal (and so
// encoding/json) where it does not.
func TestParseFlatObjects(t *testing.T) {
	for _, tc := range []struct {
		in   string
		read bool // parseFlatObjects reads it itself
	}{
		{"", true},
		{"[]", true},
		{" [ ] ", true},
		{`[{"subnet_id":"s1","ip_address":"10.0.0.3"}]`, true},
		{`[{"subnet_id" : "s1", "ip_address" : "10.0.0.3"}, ` + "\n" + ` {"subnet_id" : "s2", "ip_address" : "fd00::1"}]`, true},
		{`[{"a":null,"b":""}]`, true},
		{`[{}]`, true},
		{`[{"a":"x\"y"}]`, false},
		{`[{"a":"é"}]`, true},
		{`[{"a":1}]`, false},
		{`[{"a":true}]`, false},
		{`[{"a":{"b":"c"}}]`, false},
		{`[{"a":["b"]}]`, false},
		{`[{"a":"b"}`, false},
		{`[{"a":"b"},]`, false},
		{`[{"a":"b"}] x`, false},
		{`{"a":"b"}`, false},
		{`[{"a" "b"}]`, false},
		{`[{"a":nul}]`, false},
	} {
		got, ok := parseFlatObjects(tc.in, 2)
		if ok != tc.read {
			t.Errorf("parseFlatObjects(%q) read = %v, want %v", tc.in, ok, tc.read)
			continue
		}
		if !ok {
			continue
		}
		var want []map[string]any
		if tc.in != "" {
			if err := json.Unmarshal([]byte(tc.in), &want); err != nil {
				t.Fatalf("%q: %v", tc.in, err)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parseFlatObjects(%q) = %#v, want %#v", tc.in, got, want)
		}
	}
}

// FuzzParseFlatObjects checks that whatever parseFlatObjects reads, it
// reads as encoding/json does.
func FuzzParseFlatObjects(f *testing.F) {
	f.Add(`[{"subnet_id" : "s1", "ip_address" : "10.0.0.3"}]`)
	f.Add(`[{"a":null},{"b":"c"}]`)
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := parseFlatObjects(in, 2)
		if !ok {
			return
		}
		var want []map[string]any
		if in != "" {
			if err := json.Unmarshal([]byte(in), &want); err != nil {
				t.Fatalf("parseFlatObjects read %q, encoding/json refuses it: %v", in, err)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("parseFlatObjects(%q) = %#v, encoding/json %#v", in, got, want)
		}
	})
}
