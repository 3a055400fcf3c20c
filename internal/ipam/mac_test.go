package ipam

import "testing"

func TestValidateBaseMAC(t *testing.T) {
	for _, ok := range []string{DefaultBaseMAC, "FA:16:3E:4F:00:00", "00:00:00:00:00:00", "0e:ff:ff:ff:ff:ff"} {
		if err := ValidateBaseMAC(ok); err != nil {
			t.Errorf("ValidateBaseMAC(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"fb:16:3e:00:00:00", "fa:16:3e:00:00", "fa:16:3e:00:00:00:00", "fa:16:3e:00:00:0g",
		"fa-16-3e-00-00-00", "fa:16:3e:0:00:00", "", "f:a16:3e:00:00:00"} {
		err := ValidateBaseMAC(bad)
		if err == nil || err.Error() != "Base MAC: '"+bad+"' is not a valid input" {
			t.Errorf("ValidateBaseMAC(%q) = %v", bad, err)
		}
	}
}

func TestRandomMAC(t *testing.T) {
	fill := func(b []byte) {
		for i := range b {
			b[i] = 0xab
		}
	}
	tests := []struct{ base, want string }{
		{DefaultBaseMAC, "fa:16:3e:ab:ab:ab"},
		{"fa:16:3e:4f:00:00", "fa:16:3e:4f:ab:ab"},
		{"FA:16:3E:00:12:34", "fa:16:3e:ab:ab:ab"},
		{"00:00:00:00:00:00", "00:00:00:ab:ab:ab"},
	}
	for _, tt := range tests {
		mac, err := RandomMAC(tt.base, fill)
		if err != nil || mac.String() != tt.want {
			t.Errorf("RandomMAC(%q) = %v, %v; want %s", tt.base, mac, err, tt.want)
		}
	}
	if _, err := RandomMAC("fb:16:3e:00:00:00", fill); err == nil {
		t.Error("RandomMAC accepted a multicast base")
	}
	a, err1 := RandomMAC(DefaultBaseMAC, nil)
	b, err2 := RandomMAC(DefaultBaseMAC, nil)
	if err1 != nil || err2 != nil || a.String()[:9] != "fa:16:3e:" || b.String()[:9] != "fa:16:3e:" {
		t.Errorf("RandomMAC with crypto/rand: %v %v %v %v", a, b, err1, err2)
	}
}
