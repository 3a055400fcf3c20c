package config

import (
	"slices"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name              string
		args              []string
		files, dirs, rest []string
		wantErr           string
	}{{
		name: "none",
		args: []string{"--debug", "serve"},
		rest: []string{"--debug", "serve"},
	}, {
		name:  "both spellings, repeated, order kept",
		args:  []string{"--config-file", "/etc/neutron/neutron.conf", "--debug", "--config-file=/etc/neutron/plugins/ml2/ml2_conf.ini", "--config-dir=/etc/neutron/conf.d/common", "--config-dir", "/etc/neutron/conf.d/neutron-server", "x"},
		files: []string{"/etc/neutron/neutron.conf", "/etc/neutron/plugins/ml2/ml2_conf.ini"},
		dirs:  []string{"/etc/neutron/conf.d/common", "/etc/neutron/conf.d/neutron-server"},
		rest:  []string{"--debug", "x"},
	}, {
		name:  "value with an equals sign",
		args:  []string{"--config-file=a=b.conf"},
		files: []string{"a=b.conf"},
	}, {
		name:  "stops at --",
		args:  []string{"--config-file", "a.conf", "--", "--config-file", "b.conf"},
		files: []string{"a.conf"},
		rest:  []string{"--", "--config-file", "b.conf"},
	}, {
		name: "similar flags are not ours",
		args: []string{"--config-files=x", "-config-file", "y"},
		rest: []string{"--config-files=x", "-config-file", "y"},
	}, {
		name:    "missing value at end",
		args:    []string{"--config-file"},
		wantErr: "config: --config-file needs a path argument",
	}, {
		name:    "next option is not a value",
		args:    []string{"--config-dir", "--debug"},
		wantErr: "config: --config-dir needs a path argument",
	}, {
		name:    "empty value",
		args:    []string{"--config-file="},
		wantErr: "config: --config-file: empty path",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, dirs, rest, err := ParseArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v; want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(files, tt.files) || !slices.Equal(dirs, tt.dirs) || !slices.Equal(rest, tt.rest) {
				t.Errorf("ParseArgs = %q, %q, %q; want %q, %q, %q", files, dirs, rest, tt.files, tt.dirs, tt.rest)
			}
		})
	}
}
