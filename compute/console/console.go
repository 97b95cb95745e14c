// Package console is the remote console proxy, imagestack's
// nova-novncproxy: it issues short-lived console tokens (compute.Consoles),
// serves the noVNC pages of the host's novnc package and relays a noVNC
// websocket, once its token checks out, to the VM's VNC server.
package console

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"imagestack/compute"
)

// Defaults of Config.
const (
	// DefaultTokenTTL is Nova's [consoleauth] token_ttl.
	DefaultTokenTTL = 600 * time.Second
	// DefaultNoVNCDir is where Debian's novnc package puts the pages.
	DefaultNoVNCDir = "/usr/share/novnc"
	// DefaultMaxTokens bounds the live tokens of all servers (about 200
	// bytes each).
	DefaultMaxTokens = 10000
	// DefaultMaxTokensPerServer bounds the live tokens of one server: a
	// user asking for console after console only pushes out the server's
	// oldest tokens.
	DefaultMaxTokensPerServer = 16
	// DefaultMaxSessionsPerServer bounds the consoles open at once on one
	// server (each holds about 100 KiB of buffers): a token may be used
	// again, but not to open consoles without end.
	DefaultMaxSessionsPerServer = 8
)

// Page is the noVNC page the console URL opens: noVNC's minimal client,
// which connects at once (Nova's documented novncproxy_base_url).
const Page = "vnc_lite.html"

// Config is the proxy's configuration; zero fields take the defaults.
type Config struct {
	// PublicURL is the proxy's root as browsers reach it, e.g.
	// http://127.0.0.1:6080 (a path is kept: a reverse proxy may serve
	// the console under one).
	PublicURL            string
	NoVNCDir             string
	TokenTTL             time.Duration
	MaxTokens            int
	MaxTokensPerServer   int
	MaxSessionsPerServer int
	// EnforceSessionTimeout closes a console when its token expires
	// (Nova's [consoleauth] enforce_session_timeout); otherwise a console
	// open at expiry stays open.
	EnforceSessionTimeout bool
}

// Proxy is the console proxy. Its token methods implement
// compute.Consoles; Handler serves the pages and the websocket.
type Proxy struct {
	cfg    Config
	public *url.URL
	tokens *tokenStore
	log    *slog.Logger

	mu       sync.Mutex
	sessions map[*session]struct{}
	open     map[string]int // consoles open (or opening) per server
	closed   bool
	relays   sync.WaitGroup
}

var _ compute.Consoles = (*Proxy)(nil)

// New returns a proxy without tokens.
func New(cfg Config, log *slog.Logger) (*Proxy, error) {
	if log == nil {
		log = slog.Default()
	}
	if cfg.NoVNCDir == "" {
		cfg.NoVNCDir = DefaultNoVNCDir
	}
	if cfg.TokenTTL == 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if cfg.MaxTokensPerServer == 0 {
		cfg.MaxTokensPerServer = DefaultMaxTokensPerServer
	}
	if cfg.MaxSessionsPerServer == 0 {
		cfg.MaxSessionsPerServer = DefaultMaxSessionsPerServer
	}
	if cfg.TokenTTL < 0 || cfg.MaxTokens < 0 || cfg.MaxTokensPerServer < 0 || cfg.MaxSessionsPerServer < 0 {
		return nil, errors.New("console: token TTL and limits must be positive")
	}
	u, err := url.Parse(strings.TrimRight(cfg.PublicURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("console: public URL %q is not an http(s) URL without a query", cfg.PublicURL)
	}
	return &Proxy{cfg: cfg, public: u, tokens: newTokenStore(cfg.TokenTTL, cfg.MaxTokens, cfg.MaxTokensPerServer),
		log: log, sessions: map[*session]struct{}{}, open: map[string]int{}}, nil
}

// Authorize implements compute.Consoles.
func (p *Proxy) Authorize(_ context.Context, serverID, consoleType string) (compute.ConsoleAuth, error) {
	tok, g, ok := p.tokens.issue(serverID, consoleType)
	if !ok {
		return compute.ConsoleAuth{}, compute.Errorf(compute.ErrUnavailable,
			"Too many console sessions are open on this host; try again in a few minutes.")
	}
	return p.auth(tok, g), nil
}

// Lookup implements compute.Consoles.
func (p *Proxy) Lookup(_ context.Context, token string) (compute.ConsoleAuth, error) {
	g, ok := p.tokens.lookup(token)
	if !ok {
		return compute.ConsoleAuth{}, compute.Errorf(compute.ErrNotFound, "Token not found")
	}
	return p.auth(token, g), nil
}

// Revoke implements compute.Consoles.
func (p *Proxy) Revoke(_ context.Context, serverID string) { p.tokens.revoke(serverID) }

// auth is the record of a token.
func (p *Proxy) auth(tok string, g grant) compute.ConsoleAuth {
	return compute.ConsoleAuth{Token: tok, ServerID: g.serverID, ConsoleType: g.consoleType, URL: p.consoleURL(tok),
		Expires: g.expires}
}

// consoleURL is Nova's novnc access URL: the page, told in its "path"
// query where the websocket is (noVNC opens ws(s)://<host>:<port>/<path>),
// with the token in that path's own query, as noVNC 1.1 and later want.
func (p *Proxy) consoleURL(tok string) string {
	u := *p.public
	wsPath := strings.TrimPrefix(u.Path+"/", "/") + "?token=" + tok
	u.Path += "/" + Page
	u.RawQuery = url.Values{"path": {wsPath}}.Encode()
	return u.String()
}

// Close ends every console session and waits for their relays; the
// handler refuses new ones afterwards.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for s := range p.sessions {
		s.close()
	}
	p.mu.Unlock()
	p.relays.Wait()
}
