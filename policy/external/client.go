// Package external uses an existing Keystone as the identity service, the
// way keystonemiddleware's auth_token does for Glance and Nova: this service
// logs in with its own account (password, project scope; the token renewed
// before it expires), checks the tokens callers bring with GET
// /v3/auth/tokens, keeps the answers in a bounded cache for a bounded time,
// and looks up projects for compute.
package external

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Config is the Keystone to use and this service's account in it.
type Config struct {
	// AuthURL is the Keystone endpoint, with or without /v3.
	AuthURL                           string
	Username, Password, ProjectName   string
	UserDomainName, ProjectDomainName string
	CacheTTL, NegativeCacheTTL        time.Duration // 0 CacheTTL: no cache
	CacheSize                         int
	Timeout                           time.Duration // each request to Keystone
	ServiceTokenRoles                 []string
	ServiceTokenRolesRequired         bool
	// Region is this cloud's region: unified limits of it, or of no
	// region, apply. LimitsCacheTTL bounds how long limits read from
	// Keystone are used without asking again (0: ask every time).
	// LimitsSystemScope reads them with a system-scoped token of the same
	// account (oslo.limit's system_scope = all): a project-scoped one sees
	// only its own project's limits in Keystone before 2026.1.
	Region            string
	LimitsCacheTTL    time.Duration
	LimitsSystemScope bool
}

// ErrUnavailable wraps every failure to get an answer from Keystone (out of
// reach, refusing this service's own credentials, answering 5xx): callers
// answer 503, never 401.
var ErrUnavailable = errors.New("the identity service is unavailable")

// renewBefore is how long before its expiry this service's own token is
// replaced (keystoneauth re-authenticates 120 s before).
const renewBefore = 2 * time.Minute

// Client talks to the external Keystone with this service's credentials.
type Client struct {
	cfg    Config
	v3     string // AuthURL ending in /v3
	http   *http.Client
	log    *slog.Logger
	now    func() time.Time
	cache  *tokenCache
	calls  singleflight.Group
	limits *limitCache

	mu         sync.Mutex
	svcToken   string
	svcExpires time.Time
	sysToken   string // system-scoped, for unified limits
	sysExpires time.Time
}

// New returns a client of the Keystone cfg names; nothing is sent before the
// first use.
func New(cfg Config, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v3 := strings.TrimRight(cfg.AuthURL, "/")
	if !strings.HasSuffix(v3, "/v3") {
		v3 += "/v3"
	}
	return &Client{cfg: cfg, v3: v3, http: &http.Client{Timeout: cfg.Timeout}, log: log, now: time.Now,
		cache: newTokenCache(cfg.CacheSize), limits: newLimitCache(cfg.CacheSize)}
}

// serviceToken returns this service's token, logging in when it has none
// or the one it has expires within renewBefore (or half its lifetime).
// A system-scoped one (system) is kept apart from the project-scoped one.
// Concurrent callers share one login (and its failure), so that a Keystone
// that does not answer costs each request one timeout, not one per
// request queued before it.
func (c *Client) serviceToken(ctx context.Context, system bool) (string, error) {
	c.mu.Lock()
	tok, expires := c.svcToken, c.svcExpires
	if system {
		tok, expires = c.sysToken, c.sysExpires
	}
	c.mu.Unlock()
	if tok != "" && c.now().Before(expires) {
		return tok, nil
	}
	v, err, _ := c.calls.Do(fmt.Sprintf("service login\x00%t", system), func() (any, error) {
		// Not the first caller's cancellation: others wait on this login.
		tok, expires, err := c.login(context.WithoutCancel(ctx), system)
		if err != nil {
			return "", err
		}
		expires = expires.Add(-min(renewBefore, expires.Sub(c.now())/2))
		c.mu.Lock()
		defer c.mu.Unlock()
		if system {
			c.sysToken, c.sysExpires = tok, expires
		} else {
			c.svcToken, c.svcExpires = tok, expires
		}
		return tok, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// dropServiceToken forgets the service token Keystone just refused (401),
// unless another request already replaced it.
func (c *Client) dropServiceToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.svcToken == tok {
		c.svcToken = ""
	}
	if c.sysToken == tok {
		c.sysToken = ""
	}
}

type named struct {
	Name string `json:"name"`
}

type scopeProject struct {
	Name   string `json:"name"`
	Domain named  `json:"domain"`
}

// login authenticates this service with its password, scoped to its project
// or, with system, to the whole system.
func (c *Client) login(ctx context.Context, system bool) (string, time.Time, error) {
	var req struct {
		Auth struct {
			Identity struct {
				Methods  []string `json:"methods"`
				Password struct {
					User struct {
						Name     string `json:"name"`
						Domain   named  `json:"domain"`
						Password string `json:"password"`
					} `json:"user"`
				} `json:"password"`
			} `json:"identity"`
			Scope struct {
				Project *scopeProject   `json:"project,omitempty"`
				System  map[string]bool `json:"system,omitempty"`
			} `json:"scope"`
		} `json:"auth"`
	}
	id := &req.Auth.Identity
	id.Methods = []string{"password"}
	id.Password.User.Name, id.Password.User.Password = c.cfg.Username, c.cfg.Password
	id.Password.User.Domain.Name = c.cfg.UserDomainName
	if system {
		req.Auth.Scope.System = map[string]bool{"all": true}
	} else {
		req.Auth.Scope.Project = &scopeProject{Name: c.cfg.ProjectName, Domain: named{Name: c.cfg.ProjectDomainName}}
	}
	body, _ := json.Marshal(req)
	resp, err := c.send(ctx, http.MethodPost, "/auth/tokens", bytes.NewReader(body), nil)
	if err != nil {
		return "", time.Time{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		c.logRefusedLogin(resp.StatusCode, system)
		return "", time.Time{}, fmt.Errorf("%w: service login answered %s", ErrUnavailable, resp.Status)
	}
	var out struct {
		Token struct {
			ExpiresAt time.Time `json:"expires_at"`
		} `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return "", time.Time{}, fmt.Errorf("%w: service login: %w", ErrUnavailable, err)
	}
	tok := resp.Header.Get("X-Subject-Token")
	if tok == "" {
		return "", time.Time{}, fmt.Errorf("%w: service login answered no token", ErrUnavailable)
	}
	return tok, out.Token.ExpiresAt, nil
}

// logRefusedLogin says why Keystone refusing this service's login matters
// and what to do about it.
func (c *Client) logRefusedLogin(status int, system bool) {
	if system {
		c.log.Error("the external Keystone refused this service a system-scoped token to read unified limits: "+
			"give the account a system role (openstack role add --system all reader) or set limits_system_scope: false",
			"status", status, "user", c.cfg.Username)
		return
	}
	c.log.Error("the external Keystone refused this service's credentials", "status", status,
		"user", c.cfg.Username, "project", c.cfg.ProjectName)
}

// send makes one request to Keystone; a failure to get any answer is
// ErrUnavailable.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.v3+path, body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return resp, nil
}

// get sends GET path with this service's token, logging in again and
// retrying once when Keystone refuses that token (401), as keystonemiddleware
// does. The caller closes the body.
func (c *Client) get(ctx context.Context, path string, header http.Header) (*http.Response, error) {
	return c.getAs(ctx, path, header, false)
}

// getAs is get with the system-scoped service token when system.
func (c *Client) getAs(ctx context.Context, path string, header http.Header, system bool) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.serviceToken(ctx, system)
		if err != nil {
			return nil, err
		}
		h := header.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("X-Auth-Token", tok)
		resp, err := c.send(ctx, http.MethodGet, path, nil, h)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusUnauthorized {
			return resp, nil
		}
		resp.Body.Close()
		c.dropServiceToken(tok)
		if attempt == 1 {
			return nil, fmt.Errorf("%w: Keystone refused this service's token twice", ErrUnavailable)
		}
	}
}
