package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"sync"
	"time"
)

// tokenBytes is the entropy of a token: 256 bits, unguessable.
const tokenBytes = 32

// grant is what a token opens. The token itself is not kept, only its
// hash, so that what the proxy holds in memory opens nothing.
type grant struct {
	hash        [sha256.Size]byte
	serverID    string
	consoleType string
	expires     time.Time
}

// tokenStore holds the live tokens, at most max of them and at most
// perServer of any one server.
type tokenStore struct {
	mu        sync.Mutex
	byHash    map[[sha256.Size]byte]*grant
	byServer  map[string][]*grant // oldest first
	ttl       time.Duration
	max       int
	perServer int
	now       func() time.Time
}

func newTokenStore(ttl time.Duration, max, perServer int) *tokenStore {
	return &tokenStore{byHash: map[[sha256.Size]byte]*grant{}, byServer: map[string][]*grant{},
		ttl: ttl, max: max, perServer: perServer, now: time.Now}
}

// issue stores a new token for the server and returns it with its grant;
// false when the store is full of live tokens.
func (s *tokenStore) issue(serverID, consoleType string) (string, grant, bool) {
	raw := make([]byte, tokenBytes)
	_, _ = rand.Read(raw) // never fails (crypto/rand panics instead)
	tok := base64.RawURLEncoding.EncodeToString(raw)
	g := &grant{hash: sha256.Sum256([]byte(tok)), serverID: serverID, consoleType: consoleType}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	g.expires = now.Add(s.ttl)
	s.dropExpired(serverID, now)
	for len(s.byServer[serverID]) >= s.perServer {
		s.remove(s.byServer[serverID][0])
	}
	if len(s.byHash) >= s.max {
		s.sweep(now)
		if len(s.byHash) >= s.max {
			return "", grant{}, false
		}
	}
	s.byHash[g.hash] = g
	s.byServer[serverID] = append(s.byServer[serverID], g)
	return tok, *g, true
}

// lookup returns the grant of a live token.
func (s *tokenStore) lookup(tok string) (grant, bool) {
	h := sha256.Sum256([]byte(tok))
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.byHash[h]
	if !ok {
		return grant{}, false
	}
	if !s.now().Before(g.expires) {
		s.remove(g)
		return grant{}, false
	}
	return *g, true
}

// revoke drops every token of the server.
func (s *tokenStore) revoke(serverID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.byServer[serverID] {
		delete(s.byHash, g.hash)
	}
	delete(s.byServer, serverID)
}

// count is the number of tokens held, expired ones not yet dropped included.
func (s *tokenStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byHash)
}

// sweep drops every expired token (a full store's last resort, so its
// cost, linear in max, is paid only when the store is full).
func (s *tokenStore) sweep(now time.Time) {
	for id := range s.byServer {
		s.dropExpired(id, now)
	}
}

// dropExpired drops the server's expired tokens; they are the oldest,
// since every token lives as long.
func (s *tokenStore) dropExpired(serverID string, now time.Time) {
	for gs := s.byServer[serverID]; len(gs) > 0 && !now.Before(gs[0].expires); gs = s.byServer[serverID] {
		s.remove(gs[0])
	}
}

// remove drops one grant from both indexes.
func (s *tokenStore) remove(g *grant) {
	delete(s.byHash, g.hash)
	gs := slices.DeleteFunc(s.byServer[g.serverID], func(o *grant) bool { return o == g })
	if len(gs) == 0 {
		delete(s.byServer, g.serverID)
		return
	}
	s.byServer[g.serverID] = gs
}
