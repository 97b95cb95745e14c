// Package webfetch downloads image data from a URL for the web-download
// import method without letting a caller reach what it should not: only http
// and https, no loopback, link-local, private or otherwise special
// addresses (checked on the address actually dialled, so DNS tricks and
// redirects cannot get around it), a bounded number of redirects, and the
// image size cap enforced while streaming.
package webfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Policy says which URLs may be fetched.
type Policy struct {
	// AllowedSchemes defaults to http and https.
	AllowedSchemes []string
	// AllowedNetworks are exceptions to the address rules (an operator's
	// internal mirror, say), e.g. 10.1.2.0/24 or 127.0.0.1/32.
	AllowedNetworks []netip.Prefix
	// MaxRedirects bounds redirects (default 5).
	MaxRedirects int
	// Timeout bounds connecting and waiting for response headers (default 30 s).
	Timeout time.Duration
}

// ErrRefused: the URL or an address it leads to is not allowed.
var ErrRefused = errors.New("refused by the web-download policy")

// ErrTooLarge: the data is larger than the cap.
var ErrTooLarge = errors.New("the data is larger than the size cap")

// Fetcher opens URLs under a Policy.
type Fetcher struct {
	policy Policy
	client *http.Client
}

// New returns a Fetcher for p.
func New(p Policy) *Fetcher {
	if len(p.AllowedSchemes) == 0 {
		p.AllowedSchemes = []string{"http", "https"}
	}
	if p.MaxRedirects == 0 {
		p.MaxRedirects = 5
	}
	if p.Timeout == 0 {
		p.Timeout = 30 * time.Second
	}
	f := &Fetcher{policy: p}
	dialer := &net.Dialer{Timeout: p.Timeout, Control: f.control}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, unchecked
		DialContext:           dialer.DialContext,
		ResponseHeaderTimeout: p.Timeout,
		TLSHandshakeTimeout:   p.Timeout,
	}
	f.client = &http.Client{Transport: transport, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) > p.MaxRedirects {
			return fmt.Errorf("%w: more than %d redirects", ErrRefused, p.MaxRedirects)
		}
		return f.checkURL(req.URL)
	}}
	return f
}

// checkURL refuses schemes not allowed.
func (f *Fetcher) checkURL(u *url.URL) error {
	if !slices.Contains(f.policy.AllowedSchemes, strings.ToLower(u.Scheme)) {
		return fmt.Errorf("%w: scheme %q", ErrRefused, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("%w: no host in %q", ErrRefused, u.String())
	}
	return nil
}

// control runs on the socket about to connect: the resolved address is
// checked here, after DNS, for every connection including redirects.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: address %q", ErrRefused, address)
	}
	addr := ap.Addr().Unmap()
	for _, p := range f.policy.AllowedNetworks {
		if p.Contains(addr) {
			return nil
		}
	}
	if !Public(addr) {
		return fmt.Errorf("%w: %s is not a public address", ErrRefused, addr)
	}
	return nil
}

// Public reports whether addr is an ordinary public unicast address: not
// loopback, link-local, private, unspecified, multicast, CGNAT or reserved.
func Public(addr netip.Addr) bool {
	if !addr.IsValid() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() ||
		addr.IsInterfaceLocalMulticast() || addr.IsMulticast() || addr.IsUnspecified() {
		return false
	}
	for _, p := range special {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// special are further non-public ranges (RFC 6890 and friends).
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("240.0.0.0/4"), netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("100::/64"), netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("fc00::/7"),
}

// Open starts downloading rawURL and returns the body, limited to max bytes
// (reading past it fails with ErrTooLarge). The caller closes it.
func (f *Fetcher) Open(ctx context.Context, rawURL string, max int64) (io.ReadCloser, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	if err := f.checkURL(u); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return nil, err
		}
		return nil, fmt.Errorf("download %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("download %s: HTTP %d", u.Redacted(), resp.StatusCode)
	}
	if resp.ContentLength > max {
		resp.Body.Close()
		return nil, fmt.Errorf("%w: %d bytes announced, cap %d", ErrTooLarge, resp.ContentLength, max)
	}
	return &capped{ReadCloser: resp.Body, left: max}, nil
}

// capped fails once more than its budget has been read.
type capped struct {
	io.ReadCloser
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, ErrTooLarge
	}
	n, err := c.ReadCloser.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, ErrTooLarge
	}
	return n, err
}
