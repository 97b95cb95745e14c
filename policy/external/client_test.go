package external

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"imagestack/policy/authn"
)

// fakeKeystone answers the few Keystone calls the client makes, on a clock
// the test moves.
type fakeKeystone struct {
	mu          sync.Mutex
	now         time.Time
	logins      int
	validations int
	svcToken    string
	tokens      map[string]fakeToken // user tokens Keystone knows
	projects    map[string]bool
	lastQuery   string
	sysToken    string // system-scoped service token (unified limits)
	limits      fakeLimits
}

type fakeToken struct {
	user, project string
	roles         []string
	expires       time.Time
}

func (f *fakeKeystone) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v3/auth/tokens":
		f.login(w, r)
	case f.limits.serves(f, w, r):
	case r.Header.Get("X-Auth-Token") != f.svcToken || f.svcToken == "":
		http.Error(w, `{"error":{"code":401}}`, http.StatusUnauthorized)
	case r.Method == http.MethodGet && r.URL.Path == "/v3/auth/tokens":
		f.validate(w, r)
	case strings.HasPrefix(r.URL.Path, "/v3/projects/"):
		if !f.projects[strings.TrimPrefix(r.URL.Path, "/v3/projects/")] {
			http.Error(w, "{}", http.StatusNotFound)
			return
		}
		fmt.Fprint(w, `{"project":{}}`)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeKeystone) login(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Auth struct {
			Identity struct {
				Password struct {
					User struct{ Name, Password string } `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				System map[string]bool `json:"system"`
			} `json:"scope"`
		} `json:"auth"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	if u := body.Auth.Identity.Password.User; u.Name != "glance" || u.Password != "pw" {
		http.Error(w, "{}", http.StatusUnauthorized)
		return
	}
	f.logins++
	tok := fmt.Sprintf("svc-%d", f.logins)
	if body.Auth.Scope.System["all"] {
		f.sysToken = tok
	} else {
		f.svcToken = tok
		f.tokens[f.svcToken] = fakeToken{user: "glance-id", project: "service", roles: []string{"admin", "service"}, expires: f.now.Add(time.Hour)}
	}
	w.Header().Set("X-Subject-Token", tok)
	w.WriteHeader(http.StatusCreated)
	fmt.Fprintf(w, `{"token":{"expires_at":%q}}`, f.now.Add(time.Hour).Format(time.RFC3339))
}

func (f *fakeKeystone) validate(w http.ResponseWriter, r *http.Request) {
	f.validations++
	f.lastQuery = r.URL.RawQuery
	t, ok := f.tokens[r.Header.Get("X-Subject-Token")]
	if !ok || (!t.expires.After(f.now) && r.URL.Query().Get("allow_expired") != "1") {
		http.Error(w, `{"error":{"code":404}}`, http.StatusNotFound)
		return
	}
	roles := make([]map[string]string, len(t.roles))
	for i, name := range t.roles {
		roles[i] = map[string]string{"id": name + "-id", "name": name}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"token": map[string]any{
		"expires_at": t.expires.Format("2006-01-02T15:04:05.000000Z"),
		"user":       map[string]any{"id": t.user, "domain": map[string]string{"id": "default"}},
		"project":    map[string]any{"id": t.project, "domain": map[string]string{"id": "default"}},
		"roles":      roles}})
}

func (f *fakeKeystone) set(fn func(f *fakeKeystone)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeKeystone) counts() (logins, validations int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins, f.validations
}

// clock is the test's time, read by both the fake and the client.
func setup(t *testing.T, mod func(*Config)) (*Client, *fakeKeystone, *httptest.Server, func(time.Duration)) {
	t.Helper()
	f := &fakeKeystone{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC), tokens: map[string]fakeToken{}, projects: map[string]bool{"p1": true}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	cfg := Config{AuthURL: srv.URL, Username: "glance", Password: "pw", ProjectName: "service",
		UserDomainName: "Default", ProjectDomainName: "Default", CacheTTL: 60 * time.Second,
		NegativeCacheTTL: 10 * time.Second, CacheSize: 100, Timeout: 2 * time.Second,
		ServiceTokenRoles: []string{"service"}, ServiceTokenRolesRequired: true}
	if mod != nil {
		mod(&cfg)
	}
	c := New(cfg, nil)
	c.now = func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	advance := func(d time.Duration) { f.set(func(f *fakeKeystone) { f.now = f.now.Add(d) }) }
	f.tokens["alice"] = fakeToken{user: "alice-id", project: "p1", roles: []string{"member", "reader"}, expires: f.now.Add(time.Hour)}
	return c, f, srv, advance
}

func TestValidateAndCacheUntilTTL(t *testing.T) {
	c, f, _, advance := setup(t, nil)
	ctx := context.Background()
	creds, err := c.Validate(ctx, "alice")
	if err != nil || creds.UserID != "alice-id" || creds.ProjectID != "p1" || creds.UserDomainID != "default" ||
		creds.ProjectDomainID != "default" || strings.Join(creds.Roles, ",") != "member,reader" {
		t.Fatalf("Validate = %+v, %v", creds, err)
	}
	if !strings.Contains(f.lastQuery, "nocatalog") || strings.Contains(f.lastQuery, "allow_expired") {
		t.Errorf("validation query %q", f.lastQuery)
	}
	// Revoked in Keystone: believed from the cache until cache_ttl, no longer.
	f.set(func(f *fakeKeystone) { delete(f.tokens, "alice") })
	advance(59 * time.Second)
	if _, err := c.Validate(ctx, "alice"); err != nil {
		t.Fatalf("within cache_ttl: %v", err)
	}
	if _, v := f.counts(); v != 1 {
		t.Errorf("validations = %d, want 1 (cached)", v)
	}
	advance(time.Second)
	if _, err := c.Validate(ctx, "alice"); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("after cache_ttl: %v, want invalid", err)
	}
}

func TestNegativeCacheAndExpiry(t *testing.T) {
	c, f, _, advance := setup(t, nil)
	ctx := context.Background()
	for range 3 {
		if _, err := c.Validate(ctx, "nobody"); !errors.Is(err, authn.ErrInvalidToken) {
			t.Fatalf("unknown token: %v", err)
		}
	}
	if _, v := f.counts(); v != 1 {
		t.Errorf("validations = %d, want 1 (negative cache)", v)
	}
	f.set(func(f *fakeKeystone) { f.tokens["nobody"] = f.tokens["alice"] })
	advance(10 * time.Second)
	if _, err := c.Validate(ctx, "nobody"); err != nil {
		t.Fatalf("after negative_cache_ttl: %v", err)
	}
	// A cached token past its own expiry is refused without asking.
	advance(time.Hour)
	if _, err := c.Validate(ctx, "nobody"); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("expired: %v", err)
	}
	for _, bad := range []string{"", "a b", "x\r\nX-Evil: 1", strings.Repeat("a", maxTokenLen+1)} {
		if _, err := c.Validate(ctx, bad); !errors.Is(err, authn.ErrInvalidToken) {
			t.Errorf("Validate(%.20q) = %v, want invalid", bad, err)
		}
	}
}

func TestKeystoneDownIsUnavailable(t *testing.T) {
	c, _, srv, _ := setup(t, nil)
	srv.Close()
	_, err := c.Validate(context.Background(), "alice")
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("Validate with Keystone down = %v, want unavailable", err)
	}
	// Wrong service credentials are Keystone refusing this service: 503 too.
	c2, _, _, _ := setup(t, func(cfg *Config) { cfg.Password = "wrong" })
	if _, err := c2.Validate(context.Background(), "alice"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("bad service password: %v", err)
	}
}

func TestServiceTokenRenewed(t *testing.T) {
	c, f, _, advance := setup(t, func(cfg *Config) { cfg.CacheTTL = 0 })
	ctx := context.Background()
	mustValidate := func() {
		t.Helper()
		if _, err := c.Validate(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	mustValidate()
	// Keystone forgets the service token (revoked): a 401, one new login, a retry.
	f.set(func(f *fakeKeystone) { f.svcToken = "gone" })
	mustValidate()
	if l, _ := f.counts(); l != 2 {
		t.Fatalf("logins = %d, want 2", l)
	}
	// Renewed ahead of its expiry: 2 minutes before.
	advance(57 * time.Minute)
	mustValidate()
	if l, _ := f.counts(); l != 2 {
		t.Fatalf("logins = %d, want 2", l)
	}
	advance(90 * time.Second)
	f.set(func(f *fakeKeystone) {
		f.tokens["alice"] = fakeToken{user: "a", project: "p1", expires: f.now.Add(time.Hour)}
	})
	mustValidate()
	if l, _ := f.counts(); l != 3 {
		t.Fatalf("logins = %d, want 3 (renewed before expiry)", l)
	}
}

func TestServiceTokens(t *testing.T) {
	c, f, _, advance := setup(t, nil)
	ctx := context.Background()
	f.set(func(f *fakeKeystone) {
		f.tokens["nova"] = fakeToken{user: "nova-id", project: "service", roles: []string{"service"}, expires: f.now.Add(3 * time.Hour)}
		f.tokens["bob"] = fakeToken{user: "bob-id", project: "p1", roles: []string{"member"}, expires: f.now.Add(3 * time.Hour)}
	})
	advance(2 * time.Hour) // alice's token has expired
	if _, err := c.Validate(ctx, "alice"); !errors.Is(err, authn.ErrInvalidToken) {
		t.Fatalf("expired user token alone: %v", err)
	}
	creds, err := c.ValidateWithServiceToken(ctx, "alice", "nova")
	if err != nil || creds.UserID != "alice-id" {
		t.Fatalf("expired user token with a service token: %+v, %v", creds, err)
	}
	if !strings.Contains(f.lastQuery, "allow_expired=1") {
		t.Errorf("query %q lacks allow_expired", f.lastQuery)
	}
	if _, err := c.ValidateWithServiceToken(ctx, "bob", "bob"); !errors.Is(err, authn.ErrInvalidToken) {
		t.Errorf("service token without the service role: %v, want invalid", err)
	}
	if _, err := c.ValidateWithServiceToken(ctx, "bob", "forged"); !errors.Is(err, authn.ErrInvalidToken) {
		t.Errorf("invalid service token: %v, want invalid", err)
	}
	c.cfg.ServiceTokenRolesRequired = false
	if _, err := c.ValidateWithServiceToken(ctx, "bob", "bob"); err != nil {
		t.Errorf("roles not required: %v", err)
	}
	if _, err := c.ValidateWithServiceToken(ctx, "alice", "bob"); !errors.Is(err, authn.ErrInvalidToken) {
		t.Errorf("expired token with a roleless service token: %v, want invalid", err)
	}
}

func TestCacheBounded(t *testing.T) {
	c, f, _, _ := setup(t, func(cfg *Config) { cfg.CacheSize = 2 })
	f.set(func(f *fakeKeystone) {
		for _, n := range []string{"t1", "t2", "t3"} {
			f.tokens[n] = f.tokens["alice"]
		}
	})
	for _, n := range []string{"t1", "t2", "t3", "t3"} {
		if _, err := c.Validate(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.cache.len(); n != 2 {
		t.Errorf("cache holds %d entries, want 2", n)
	}
	if _, v := f.counts(); v != 3 {
		t.Errorf("validations = %d, want 3", v)
	}
}

func TestProjectExists(t *testing.T) {
	c, _, _, _ := setup(t, nil)
	for id, want := range map[string]bool{"p1": true, "nope": false} {
		got, err := c.ProjectExists(context.Background(), id)
		if err != nil || got != want {
			t.Errorf("ProjectExists(%s) = %v, %v", id, got, err)
		}
	}
}

// Through the middleware every API uses: 401 with the external Keystone's
// challenge, 503 (not 401) when Keystone is down.
func TestRequireTokenAnswers(t *testing.T) {
	c, _, srv, _ := setup(t, nil)
	h := authn.RequireToken(c, "http://keystone.example/v3", func(w http.ResponseWriter, r *http.Request, status int, msg string) {
		w.WriteHeader(status)
	})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, authn.CredentialsFrom(r.Context()).UserID)
	}))
	do := func(token, service string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/v2/images", nil)
		r.Header.Set("X-Auth-Token", token)
		if service != "" {
			r.Header.Set("X-Service-Token", service)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := do("alice", ""); w.Code != 200 || w.Body.String() != "alice-id" {
		t.Errorf("valid token: %d %q", w.Code, w.Body)
	}
	if w := do("bogus", ""); w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Keystone uri="http://keystone.example/v3"` {
		t.Errorf("invalid token: %d %v", w.Code, w.Header())
	}
	if w := do("alice", "bogus"); w.Code != 401 {
		t.Errorf("invalid service token: %d", w.Code)
	}
	srv.Close()
	if w := do("other", ""); w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("Keystone down: %d %v", w.Code, w.Header())
	}
	if w := do("alice", ""); w.Code != 200 {
		t.Errorf("cached token with Keystone down: %d", w.Code)
	}
}

// TestHangingKeystoneAnswersWithinTimeout: while Keystone does not answer,
// requests carrying different tokens share one login attempt and all get
// 503 within about one timeout, not one timeout after another.
func TestHangingKeystoneAnswersWithinTimeout(t *testing.T) {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(done) }) // runs first: the handlers return, then the server closes
	c := New(Config{AuthURL: srv.URL, Username: "glance", Password: "pw", ProjectName: "service", CacheTTL: time.Minute,
		CacheSize: 10, Timeout: 300 * time.Millisecond}, nil)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.Validate(context.Background(), fmt.Sprintf("token-%d", i))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("request %d: %v, want unavailable", i, err)
		}
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("6 requests took %v with a 300ms timeout: logins were made one after another", took)
	}
}
