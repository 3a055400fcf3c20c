package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTokensURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://keystone:5000", "http://keystone:5000/v3/auth/tokens"},
		{"http://keystone:5000/", "http://keystone:5000/v3/auth/tokens"},
		{"http://keystone:5000/v3", "http://keystone:5000/v3/auth/tokens"},
		{"https://cloud/identity/v3/", "https://cloud/identity/v3/auth/tokens"},
		{"https://cloud/identity", "https://cloud/identity/v3/auth/tokens"},
	}
	for _, tt := range tests {
		if got := tokensURL(tt.in); got != tt.want {
			t.Errorf("tokensURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFetchKeystoneToken(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		token       string
		catalog     string
		wantErr     bool
		wantNetwork string
	}{
		{
			name: "token and network endpoint", status: http.StatusCreated, token: "tok",
			catalog: `[{"type":"identity","endpoints":[{"interface":"public","url":"http://k"}]},
				{"type":"network","endpoints":[{"interface":"internal","url":"http://int:9696"},{"interface":"public","url":"http://pub:9696"}]}]`,
			wantNetwork: "http://pub:9696",
		},
		{name: "no catalog", status: http.StatusCreated, token: "tok", catalog: `[]`},
		{name: "no token header", status: http.StatusCreated, catalog: `[]`, wantErr: true},
		{name: "unauthorized", status: http.StatusUnauthorized, token: "tok", catalog: `[]`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got ksAuthRequest
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/identity/v3/auth/tokens" {
					http.NotFound(w, r)
					return
				}
				if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				if tt.token != "" {
					w.Header().Set("X-Subject-Token", tt.token)
				}
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, `{"token":{"catalog":%s}}`, tt.catalog)
			}))
			defer srv.Close()
			k := keystoneConfig{url: srv.URL + "/identity", username: "u", password: "pw", projectName: "demo", domain: "Default"}
			auth, err := fetchKeystoneToken(context.Background(), srv.Client(), k)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if auth.token != tt.token || auth.networkURL != tt.wantNetwork {
				t.Errorf("auth = %+v, want token %q network %q", auth, tt.token, tt.wantNetwork)
			}
			id, scope := got.Auth.Identity, got.Auth.Scope
			if len(id.Methods) != 1 || id.Methods[0] != "password" || id.Password.User.Name != "u" ||
				id.Password.User.Password != "pw" || id.Password.User.Domain.Name != "Default" ||
				scope.Project.Name != "demo" || scope.Project.Domain.Name != "Default" {
				t.Errorf("request body = %+v", got)
			}
		})
	}
}
