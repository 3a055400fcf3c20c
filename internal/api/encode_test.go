package api

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAppendValueMatchesEncodingJSON(t *testing.T) {
	for _, v := range []any{
		nil, true, false, 0, -42, "", "plain", "quote\" back\\slash", "ctl\x00\x1f\n\t\r", "<html>&amp;",
		"unicode ✓ and \u2028 \u2029", "bad \xff utf8", []string{}, []string{"a", "b<"},
		map[string]any{"k": []any{1.5, "x"}},
		map[string]any{}, []any{}, map[string]any{"b": map[string]any{"z": nil, "a": true}, "a": []any{"<", 1}},
		[]any{map[string]any{"subnet_id": "s", "ip_address": "10.0.0.1"}},
	} {
		want, _ := json.Marshal(v)
		if got := appendValue(nil, v); string(got) != string(want) {
			t.Errorf("appendValue(%#v) = %s, want %s", v, got, want)
		}
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("x", 3600))
	if got := string(appendValue(nil, ts)); got != `"2026-01-02T02:04:05Z"` {
		t.Errorf("time encodes as %s", got)
	}
	// Maps with more keys than appendValue sorts without allocating.
	many := map[string]any{}
	for _, k := range []string{"j", "i", "h", "g", "f", "e", "d", "c", "b", "a"} {
		many[k] = k
	}
	if got, want := string(appendValue(nil, many)), `{"a":"a","b":"b","c":"c","d":"d","e":"e","f":"f","g":"g","h":"h","i":"i","j":"j"}`; got != want {
		t.Errorf("a map of 10 keys encodes as %s, want %s", got, want)
	}
}

// TestAppendTime checks the timestamp writer against time's own
// formatting, in and out of the years it writes itself.
func TestAppendTime(t *testing.T) {
	for _, ts := range []time.Time{
		{}, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 7, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 1, 1, 0, 30, 0, 0, time.FixedZone("x", 3600)), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(999, 3, 4, 5, 6, 7, 0, time.UTC),
	} {
		want := `"` + ts.UTC().Format(timeFormat) + `"`
		if got := string(appendTime(nil, ts)); got != want {
			t.Errorf("appendTime(%v) = %s, want %s", ts, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\x00\xff", "\u2028<>&", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}
