package store

import (
	"testing"
	"time"
)

// TestParseTime checks the stored timestamps' fast reader against
// time.Parse, which it must agree with on every input.
func TestParseTime(t *testing.T) {
	for _, s := range []string{
		"2026-12-07T16:59:15Z", "1970-01-01T00:00:00Z", "2024-02-29T23:59:59Z",
		"2023-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
		"2026-12-07T24:00:00Z", "2026-12-07T16:60:15Z", "2026-12-07T16:59:60Z", "2026-12-07 16:59:15Z",
		"2026-12-07T16:59:15", "2026-12-07T16:59:15+01:00", "2026-1a-07T16:59:15Z", "-026-12-07T16:59:15Z",
		"", "x",
	} {
		want, wantErr := time.Parse(TimeFormat, s)
		got, err := parseTime(s)
		if (err != nil) != (wantErr != nil) || !got.Equal(want) || got.Location() != want.Location() {
			t.Errorf("parseTime(%q) = %v, %v; time.Parse gives %v, %v", s, got, err, want, wantErr)
		}
	}
}
