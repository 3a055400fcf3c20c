package ipam

import (
	"net/netip"
	"testing"
)

// wantErr checks that err is an *Error of the given type, status and
// message; typ "" expects no error.
func wantErr(t *testing.T, err error, typ string, status int, msg string) {
	t.Helper()
	if typ == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("got %v, want %s(%d) %q", err, typ, status, msg)
	}
	if e.Type != typ || e.Status != status || e.Message != msg {
		t.Fatalf("got %s(%d) %q\nwant %s(%d) %q", e.Type, e.Status, e.Message, typ, status, msg)
	}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }
func rg(a, b string) Range      { return Range{ip(a), ip(b)} }
func ipp(s string) *netip.Addr  { a := ip(s); return &a }

func pfxs(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = pfx(s)
	}
	return out
}

func rangesString(rs []Range) string {
	s := "["
	for i, r := range rs {
		if i > 0 {
			s += " "
		}
		s += r.String()
	}
	return s + "]"
}

func prefixesString(ps []netip.Prefix) string {
	s := "["
	for i, p := range ps {
		if i > 0 {
			s += " "
		}
		s += p.String()
	}
	return s + "]"
}
