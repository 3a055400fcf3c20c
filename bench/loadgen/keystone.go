package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// keystoneConfig holds the options for Keystone v3 password authentication.
type keystoneConfig struct {
	url         string
	username    string
	password    string
	projectName string
	domain      string
}

// enabled reports whether a token should be obtained from Keystone.
func (k keystoneConfig) enabled() bool { return k.url != "" }

// validate checks that the Keystone options are complete, or unused.
func (k keystoneConfig) validate() error {
	if !k.enabled() {
		if k.username != "" || k.projectName != "" {
			return errors.New("-username and -project-name need -keystone-url")
		}
		return nil
	}
	var missing []string
	if k.username == "" {
		missing = append(missing, "-username")
	}
	if k.password == "" {
		missing = append(missing, "-password (or $OS_PASSWORD)")
	}
	if k.projectName == "" {
		missing = append(missing, "-project-name")
	}
	if len(missing) > 0 {
		return fmt.Errorf("-keystone-url also needs %s", strings.Join(missing, ", "))
	}
	return nil
}

// tokensURL returns the v3 token endpoint for a Keystone URL given with or
// without its /v3 suffix.
func tokensURL(keystoneURL string) string {
	base := strings.TrimRight(keystoneURL, "/")
	if !strings.HasSuffix(base, "/v3") {
		base += "/v3"
	}
	return base + "/auth/tokens"
}

// keystoneAuth is the outcome of a successful Keystone authentication.
type keystoneAuth struct {
	token      string
	networkURL string // public network endpoint from the catalog, if any
}

// Keystone v3 password authentication request, as documented in the
// Identity API v3 reference.
type (
	ksAuthRequest struct {
		Auth ksAuth `json:"auth"`
	}
	ksAuth struct {
		Identity ksIdentity `json:"identity"`
		Scope    ksScope    `json:"scope"`
	}
	ksIdentity struct {
		Methods  []string   `json:"methods"`
		Password ksPassword `json:"password"`
	}
	ksPassword struct {
		User ksUser `json:"user"`
	}
	ksUser struct {
		Name     string   `json:"name"`
		Domain   ksDomain `json:"domain"`
		Password string   `json:"password"`
	}
	ksScope struct {
		Project ksProject `json:"project"`
	}
	ksProject struct {
		Name   string   `json:"name"`
		Domain ksDomain `json:"domain"`
	}
	ksDomain struct {
		Name string `json:"name"`
	}
)

// ksTokenResponse is the part of the token response used to find the
// network endpoint in the service catalog.
type ksTokenResponse struct {
	Token struct {
		Catalog []struct {
			Type      string `json:"type"`
			Endpoints []struct {
				Interface string `json:"interface"`
				URL       string `json:"url"`
			} `json:"endpoints"`
		} `json:"catalog"`
	} `json:"token"`
}

// fetchKeystoneToken obtains a project-scoped token with Keystone v3
// password authentication (POST /v3/auth/tokens). The token is read from the
// X-Subject-Token response header.
func fetchKeystoneToken(ctx context.Context, hc *http.Client, k keystoneConfig) (keystoneAuth, error) {
	body, err := json.Marshal(ksAuthRequest{Auth: ksAuth{
		Identity: ksIdentity{
			Methods: []string{"password"},
			Password: ksPassword{User: ksUser{
				Name:     k.username,
				Domain:   ksDomain{Name: k.domain},
				Password: k.password,
			}},
		},
		Scope: ksScope{Project: ksProject{Name: k.projectName, Domain: ksDomain{Name: k.domain}}},
	}})
	if err != nil {
		return keystoneAuth{}, fmt.Errorf("encode keystone request: %w", err)
	}
	target := tokensURL(k.url)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return keystoneAuth{}, fmt.Errorf("build keystone request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return keystoneAuth{}, fmt.Errorf("keystone authentication: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return keystoneAuth{}, fmt.Errorf("keystone authentication: read response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return keystoneAuth{}, fmt.Errorf("keystone authentication: POST %s: %d %s: %.512s",
			target, resp.StatusCode, http.StatusText(resp.StatusCode), data)
	}
	auth := keystoneAuth{token: resp.Header.Get("X-Subject-Token")}
	if auth.token == "" {
		return keystoneAuth{}, errors.New("keystone authentication: response has no X-Subject-Token header")
	}
	var tr ksTokenResponse
	if err := json.Unmarshal(data, &tr); err == nil {
		auth.networkURL = tr.networkEndpoint()
	}
	return auth, nil
}

// networkEndpoint returns the public endpoint of the first "network" service
// in the catalog, or "" if there is none.
func (r ksTokenResponse) networkEndpoint() string {
	for _, svc := range r.Token.Catalog {
		if svc.Type != "network" {
			continue
		}
		for _, ep := range svc.Endpoints {
			if ep.Interface == "public" {
				return ep.URL
			}
		}
	}
	return ""
}
