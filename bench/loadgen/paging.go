package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// link is one entry of a Neutron "<collection>_links" array.
type link struct {
	Rel  string `json:"rel"`
	Href string `json:"href"`
}

// walkStats summarises a paginated listing.
type walkStats struct {
	items int
	pages int
	bytes int64
}

// decodePage extracts the items of collection and the href of the rel=next
// link (empty if there is none) from one list response body.
func decodePage(body []byte, collection string) (items []json.RawMessage, next string, err error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, "", fmt.Errorf("decode %s page: %w", collection, err)
	}
	raw, ok := doc[collection]
	if !ok {
		return nil, "", fmt.Errorf("decode %s page: no %q key in response", collection, collection)
	}
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, "", fmt.Errorf("decode %s page: %q is not a list: %w", collection, collection, err)
	}
	if rawLinks, ok := doc[collection+"_links"]; ok {
		var links []link
		if err := json.Unmarshal(rawLinks, &links); err != nil {
			return nil, "", fmt.Errorf("decode %s page: %s_links: %w", collection, collection, err)
		}
		for _, l := range links {
			if l.Rel == "next" {
				next = l.Href
				break
			}
		}
	}
	return items, next, nil
}

// countItems returns the number of items of collection in a list response.
func countItems(body []byte, collection string) (int, error) {
	items, _, err := decodePage(body, collection)
	return len(items), err
}

// walk lists collection with the given query, following rel=next links until
// a page has none, and calls visit (if not nil) for every item. It fails on
// a link loop or on an empty page that still advertises a next page, either
// of which would otherwise never end.
func (c *Client) walk(ctx context.Context, collection string, query url.Values, visit func(json.RawMessage) error) (walkStats, error) {
	ref := "/v2.0/" + collection
	if len(query) > 0 {
		ref += "?" + query.Encode()
	}
	current, err := url.Parse(c.resolve(ref))
	if err != nil {
		return walkStats{}, fmt.Errorf("list %s: %w", collection, err)
	}
	var st walkStats
	seen := map[string]bool{current.String(): true}
	for {
		resp, err := c.do(ctx, http.MethodGet, current.String(), nil)
		if err != nil {
			return st, fmt.Errorf("list %s, page %d: %w", collection, st.pages+1, err)
		}
		st.pages++
		st.bytes += int64(len(resp.body))
		items, next, err := decodePage(resp.body, collection)
		if err != nil {
			return st, fmt.Errorf("list %s, page %d: %w", collection, st.pages, err)
		}
		st.items += len(items)
		if visit != nil {
			for _, item := range items {
				if err := visit(item); err != nil {
					return st, err
				}
			}
		}
		if next == "" {
			return st, nil
		}
		if len(items) == 0 {
			return st, fmt.Errorf("list %s, page %d: empty page has a next link", collection, st.pages)
		}
		nextURL, err := c.followLink(current, next)
		if err != nil {
			return st, fmt.Errorf("list %s, page %d: %w", collection, st.pages, err)
		}
		if seen[nextURL.String()] {
			return st, fmt.Errorf("list %s, page %d: next link %q loops back to an earlier page", collection, st.pages, next)
		}
		seen[nextURL.String()] = true
		current = nextURL
	}
}

// followLink turns the href of a next link into the URL to fetch. Hrefs that
// contain /v2.0/ are re-anchored on the client's endpoint, because a server
// behind a proxy may advertise its internal host name; other hrefs are
// resolved relative to the current page.
func (c *Client) followLink(current *url.URL, href string) (*url.URL, error) {
	u, err := current.Parse(href)
	if err != nil {
		return nil, fmt.Errorf("parse next link %q: %w", href, err)
	}
	if i := strings.Index(u.Path, "/v2.0/"); i >= 0 {
		rebased, err := url.Parse(c.base + u.Path[i:])
		if err != nil {
			return nil, fmt.Errorf("rebase next link %q: %w", href, err)
		}
		rebased.RawQuery = u.RawQuery
		return rebased, nil
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("next link %q is not an http(s) URL", href)
	}
	return u, nil
}
