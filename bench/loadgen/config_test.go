package main

import (
	"io"
	"slices"
	"testing"
)

func TestParseIntList(t *testing.T) {
	tests := []struct {
		in      string
		min     int
		want    []int
		wantErr bool
	}{
		{"1,16", 1, []int{1, 16}, false},
		{" 1 , 4,,64 ", 1, []int{1, 4, 64}, false},
		{"0", 0, []int{0}, false},
		{"0", 1, nil, true},
		{"", 1, nil, true},
		{"a", 1, nil, true},
	}
	for _, tt := range tests {
		got, err := parseIntList(tt.in, tt.min)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parseIntList(%q, %d) = %v, %v; want %v, err %v", tt.in, tt.min, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseScenarios(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"all", allScenarios, false},
		{"", allScenarios, false},
		{"port-create,network-create", []string{"network-create", "port-create"}, false},
		{"port-list-paged,port-list-full", []string{"port-list-full", "port-list-paged"}, false},
		{"network-show,network-show", []string{"network-show"}, false},
		{"network-explode", nil, true},
		{",", nil, true},
	}
	for _, tt := range tests {
		got, err := parseScenarios(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parseScenarios(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
	}{
		{"defaults", nil, false},
		{"keystone complete", []string{"-keystone-url", "http://k:5000", "-username", "u", "-password", "p", "-project-name", "demo"}, false},
		{"keystone incomplete", []string{"-keystone-url", "http://k:5000", "-username", "u", "-password", "p"}, true},
		{"username without keystone", []string{"-username", "u"}, true},
		{"zero n", []string{"-n", "0"}, true},
		{"port levels", []string{"-prepopulate-ports", "0,10000"}, false},
		{"negative port level", []string{"-prepopulate-ports", "-1"}, true},
		{"stray argument", []string{"extra"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OS_PASSWORD", "")
			_, err := parseFlags(tt.args, io.Discard)
			if (err != nil) != tt.wantErr {
				t.Errorf("parseFlags(%q) error = %v, wantErr %v", tt.args, err, tt.wantErr)
			}
		})
	}
}
