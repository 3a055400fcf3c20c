package apidef

import (
	"testing"

	"github.com/neutrino-net/neutrino/internal/fault"
)

func TestConvertIPPrefix(t *testing.T) {
	for _, c := range []struct {
		in   any
		want any
		err  string
	}{
		{"10.0.0.5/24", "10.0.0.5/24", ""},
		{"10.1.2.3", "10.1.2.3/32", ""},
		{"2001:DB8::/64", "2001:db8::/64", ""},
		{"::ffff:1.2.3.4", "::ffff:1.2.3.4/128", ""},
		{"", nil, ""},
		{"192.168.1./24", nil, "InvalidCIDR"},
		{"192.168.1.1/33", nil, "InvalidCIDR"},
		{"bad_prefix", nil, "InvalidCIDR"},
		{"256", nil, "InvalidCIDR"},
		{"fe80::1%eth0", nil, "InvalidCIDR"},
		{42, nil, "InvalidCIDR"},
	} {
		got, err := convertIPPrefix(c.in)
		if c.err != "" {
			if !fault.Is(err, c.err) {
				t.Errorf("%v: error %v, want %s", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%v: %v %v, want %v", c.in, got, err, c.want)
		}
	}
}

func TestConvertSGProtocol(t *testing.T) {
	for _, c := range []struct {
		in   any
		want any
		ok   bool
	}{
		{"tcp", "tcp", true}, {"TCP", "tcp", true}, {"any", nil, true}, {"icmpv6", "icmpv6", true},
		{"6", "6", true}, {"0", "0", true}, {"255", "255", true}, {"256", nil, false}, {"-1", nil, false},
		{"bad_protocol_name", nil, false}, {true, nil, false},
	} {
		got, err := convertSGProtocol(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("%v: %v %v, want %v (ok %v)", c.in, got, err, c.want, c.ok)
		}
		if err != nil && !fault.Is(err, "SecurityGroupRuleInvalidProtocol") {
			t.Errorf("%v: error %v", c.in, err)
		}
	}
}

func TestConvertSGPort(t *testing.T) {
	for _, c := range []struct {
		in   any
		want any
		ok   bool
	}{
		{"22", 22, true}, {0, 0, true}, {65535, 65535, true}, {65536, nil, false}, {-16, nil, false},
		{"ssh", nil, false}, {"1.5", nil, false},
	} {
		got, err := convertSGPort(c.in)
		if (err == nil) != c.ok || (c.ok && got != c.want) {
			t.Errorf("%v: %v %v, want %v (ok %v)", c.in, got, err, c.want, c.ok)
		}
	}
}
