package apidef

import (
	"strings"
	"testing"
)

func TestDNSValidators(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, c := range []struct {
		name  string
		check func(any) error
		in    any
		want  string // "" = valid; otherwise a substring of the reason
	}{
		{"name empty", ValidDNSName, "", ""},
		{"name label", ValidDNSName, "vm-1", ""},
		{"name fqdn", ValidDNSName, "vm-1.example.org.", ""},
		{"name keyword", ValidDNSName, "<project_id>", ""},
		{"name not string", ValidDNSName, 3, "'3' is not a valid string"},
		{"name leading hyphen", ValidDNSName, "-vm", "Name '-vm' must not start or end with a hyphen"},
		{"name underscore", ValidDNSName, "vm_1", "Name 'vm_1' must be 1-63 characters long"},
		{"name label too long", ValidDNSName, long + "a", "must be 1-63 characters long"},
		{"name empty label", ValidDNSName, "a..b", "Encountered an empty component"},
		{"name numeric tld", ValidDNSName, "a.123", "TLD '123' must not be all numeric"},
		{"name too long", ValidDNSName, strings.Repeat(long+".", 4) + "a", "exceeds the 255 character FQDN limit"},
		{"domain empty", ValidDNSDomain, "", ""},
		{"domain fqdn", ValidDNSDomain, "example.org.", ""},
		{"domain relative", ValidDNSDomain, "example.org", "'example.org' is not a FQDN"},
		{"domain bad label", ValidDNSDomain, "ex ample.org.", "not a valid PQDN or FQDN"},
		{"domain too long", ValidDNSDomain, strings.Repeat("a.", 127) + ".", "not a valid PQDN or FQDN"},
		{"domain no room", ValidDNSDomain, strings.Repeat(long+".", 3) + strings.Repeat("b", 62) + ".", "Adding a sub-domain will cause it to exceed"},
		{"fip name", validFIPDNSName, "vm", ""},
		{"fip name fqdn", validFIPDNSName, "vm.example.org.", "is a FQDN. It should be a relative domain name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.check(c.in)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("%v: %v, want valid", c.in, err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("%v: %v, want %q", c.in, err, c.want)
			}
		})
	}
}

func TestCheckDNSNameWithDomain(t *testing.T) {
	for _, c := range []struct {
		name, domain string
		ok           bool
	}{
		{"vm", "example.org.", true},
		{"vm.example.org.", "example.org.", true},
		{"vm.other.org.", "example.org.", false},
		{"example.org.", "example.org.", false},
		{"vm.other.org.", DNSDomainDefault, true}, // names are not kept under the default domain
		{strings.Repeat("a", 250), "example.org.", false},
	} {
		if got := CheckDNSNameWithDomain(c.name, c.domain, c.domain) == ""; got != c.ok {
			t.Errorf("CheckDNSNameWithDomain(%q, %q) ok=%v, want %v", c.name, c.domain, got, c.ok)
		}
	}
}

func TestLowerString(t *testing.T) {
	if v, err := lowerString("VM.Example.ORG."); err != nil || v != "vm.example.org." {
		t.Errorf("lowerString = %v, %v", v, err)
	}
	if _, err := lowerString(7); err == nil || err.Error() != "Input value 7 must be string type" {
		t.Errorf("lowerString(7) = %v", err)
	}
}
