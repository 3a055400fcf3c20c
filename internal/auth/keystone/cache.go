package keystone

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// cacheKey identifies a token without keeping it: its SHA-256, and whether
// it was validated allowing expired tokens (a service token came with it),
// which Keystone answers differently.
type cacheKey struct {
	sum          [sha256.Size]byte
	allowExpired bool
}

func newCacheKey(token string, allowExpired bool) cacheKey {
	return cacheKey{sum: sha256.Sum256([]byte(token)), allowExpired: allowExpired}
}

// flightKey is the key under which concurrent validations of the same
// token share one call to Keystone.
func (k cacheKey) flightKey() string {
	b := make([]byte, 0, len(k.sum)+1)
	b = append(b, k.sum[:]...)
	if k.allowExpired {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return string(b)
}

// cacheEntry is a validation result: info nil means "invalid token".
type cacheEntry struct {
	key   cacheKey
	info  *tokenInfo
	until time.Time
}

// cache is a concurrency-safe, size-bounded LRU of validation results, each
// valid until its own deadline. A nil *cache caches nothing.
type cache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cacheEntry, most recently used first
	items map[cacheKey]*list.Element
}

func newCache(max int) *cache {
	return &cache{max: max, order: list.New(), items: make(map[cacheKey]*list.Element)}
}

// get returns the entry for k if it is still valid at now.
func (c *cache) get(k cacheKey, now time.Time) (*cacheEntry, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.until) {
		c.order.Remove(el)
		delete(c.items, k)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e, true
}

// put stores info (nil: invalid) for k until the given time, evicting the
// least recently used entry when full.
func (c *cache) put(k cacheKey, info *tokenInfo, until time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		e := el.Value.(*cacheEntry)
		e.info, e.until = info, until
		c.order.MoveToFront(el)
		return
	}
	c.items[k] = c.order.PushFront(&cacheEntry{key: k, info: info, until: until})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}

// len reports the number of entries, expired or not.
func (c *cache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
