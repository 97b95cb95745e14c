package external

import (
	"container/list"
	"errors"
	"sync"
	"time"

	"imagestack/policy/authn"
)

// tokenCache keeps what Keystone said of recent tokens, by the SHA-256 of
// the token (the tokens themselves are not kept), each until its deadline,
// and at most size entries: the least recently used goes first.
type tokenCache struct {
	mu      sync.Mutex
	size    int
	order   *list.List // front: most recently used *cacheEntry
	entries map[[32]byte]*list.Element
}

type cacheEntry struct {
	key      [32]byte
	info     tokenInfo
	deadline time.Time
}

func newTokenCache(size int) *tokenCache {
	return &tokenCache{size: max(size, 1), order: list.New(), entries: map[[32]byte]*list.Element{}}
}

// get returns the entry for key if it is still fresh at now. A negative
// entry made without allow_expired does not answer a lookup with it: the
// token may have been refused only for having expired.
func (c *tokenCache) get(key [32]byte, now time.Time, allowExpired bool) (tokenInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return tokenInfo{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.deadline) {
		c.order.Remove(el)
		delete(c.entries, key)
		return tokenInfo{}, false
	}
	if e.info.invalid && allowExpired && !e.info.allowExpired {
		return tokenInfo{}, false
	}
	c.order.MoveToFront(el)
	return e.info, true
}

// put stores info for key until deadline, evicting the least recently used
// entry when full.
func (c *tokenCache) put(key [32]byte, info tokenInfo, deadline time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		el.Value = &cacheEntry{key: key, info: info, deadline: deadline}
		c.order.MoveToFront(el)
		return
	}
	for c.order.Len() >= c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.entries, last.Value.(*cacheEntry).key)
	}
	c.entries[key] = c.order.PushFront(&cacheEntry{key: key, info: info, deadline: deadline})
}

// len is the number of entries (for tests).
func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func isInvalid(err error) bool { return errors.Is(err, authn.ErrInvalidToken) }
