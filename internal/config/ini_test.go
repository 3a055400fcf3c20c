package config

import (
	"slices"
	"testing"
)

// TestParseINIEncodings covers byte-level details that fixture files cannot
// show reliably (a version control system may rewrite line endings).
func TestParseINIEncodings(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []assignment
	}{{
		name: "CRLF line endings",
		data: "[DEFAULT]\r\na = 1\r\nb = x\r\n  y\r\n",
		want: []assignment{
			{section: "DEFAULT", key: "a", value: "1", line: 2},
			{section: "DEFAULT", key: "b", value: "x\ny", line: 3},
		},
	}, {
		name: "UTF-8 byte order mark",
		data: "\ufeff[DEFAULT]\na = 1",
		want: []assignment{{section: "DEFAULT", key: "a", value: "1", line: 2}},
	}, {
		name: "whitespace-only line ends a value",
		data: "[s]\na = 1\n \t \n",
		want: []assignment{{section: "s", key: "a", value: "1", line: 2}},
	}, {
		name: "quotes stripped from the first line only",
		data: "[s]\na = \"x\n  y\"\n",
		want: []assignment{{section: "s", key: "a", value: "\"x\ny\"", line: 2}},
	}, {
		name: "empty file",
		data: "",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseINI("f.conf", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("parseINI = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestSyntax(t *testing.T) {
	r := NewRegistry()
	description := r.String("DEFAULT", "description", "", "")
	plain := r.String("DEFAULT", "plain", "", "")
	spaced := r.String("DEFAULT", "spaced", "", "")
	colon := r.String("DEFAULT", "colon", "", "")
	mixed := r.String("section_mixed", "key", "", "")
	c := mustLoad(t, r, []string{"testdata/syntax.conf"}, nil)

	tests := []struct {
		opt    *StringOpt
		want   string
		source string
	}{
		{description, "first line\nsecond line\ntabbed third line\n# an indented hash continues the value too", "testdata/syntax.conf:5"},
		{plain, "after the value", "testdata/syntax.conf:9"},
		{spaced, "padded value", "testdata/syntax.conf:11"},
		{colon, "uses a colon", "testdata/syntax.conf:12"},
		{mixed, "section names other than DEFAULT are case-insensitive", "testdata/syntax.conf:15"},
	}
	for _, tt := range tests {
		t.Run(tt.opt.Name(), func(t *testing.T) {
			if got := c.String(tt.opt); got != tt.want {
				t.Errorf("value = %q; want %q", got, tt.want)
			}
			if got := c.Source(tt.opt); got != tt.source {
				t.Errorf("Source = %q; want %q", got, tt.source)
			}
		})
	}
}
