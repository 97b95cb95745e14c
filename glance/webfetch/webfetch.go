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
	// IdleTimeout ends a download whose server sends nothing for that long
	// (default 60 s): the body read fails with ErrIdle.
	IdleTimeout time.Duration
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
	if p.IdleTimeout == 0 {
		p.IdleTimeout = 60 * time.Second
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
	return f.checkAddr(ap.Addr())
}

// checkAddr refuses an address that is neither public nor in an allowed
// network.
func (f *Fetcher) checkAddr(addr netip.Addr) error {
	addr = addr.Unmap()
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

// Precheck refuses, before any download, a URL that Open would refuse for
// its scheme or for a host written as an address. A host name passes: its
// addresses are checked when Open connects.
func (f *Fetcher) Precheck(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	if err := f.checkURL(u); err != nil {
		return err
	}
	if addr, err := netip.ParseAddr(u.Hostname()); err == nil {
		return f.checkAddr(addr)
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

// special are further non-public ranges (RFC 6890 and friends), among them
// the IPv6 ranges that embed or translate to an IPv4 address (NAT64, 6to4,
// Teredo, IPv4-compatible), through which a private IPv4 host could be
// reached, and the deprecated site-local range.
var special = prefixes(
	"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "198.18.0.0/15",
	"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
	"::/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/32", "2001:db8::/32", "2002::/16",
	"3fff::/20", "fc00::/7", "fec0::/10",
)

func prefixes(list ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(list))
	for i, p := range list {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
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
	ctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		cancel(nil)
		if errors.Is(err, ErrRefused) {
			return nil, fmt.Errorf("%s: %w", Redact(u.String()), unwrapURLError(err))
		}
		return nil, fmt.Errorf("download %s: %w", Redact(u.String()), unwrapURLError(err))
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel(nil)
		return nil, fmt.Errorf("download %s: HTTP %d", Redact(u.String()), resp.StatusCode)
	}
	if resp.ContentLength > max {
		resp.Body.Close()
		cancel(nil)
		return nil, fmt.Errorf("%w: %d bytes announced, cap %d", ErrTooLarge, resp.ContentLength, max)
	}
	b := &body{ReadCloser: resp.Body, left: max, ctx: ctx, cancel: cancel, idle: f.policy.IdleTimeout}
	b.timer = time.AfterFunc(b.idle, func() { cancel(ErrIdle) })
	return b, nil
}

// ErrIdle: the server sent nothing for the idle timeout.
var ErrIdle = errors.New("the server sent no data within the idle timeout")

// unwrapURLError drops net/http's *url.Error wrapper, whose text repeats the
// URL with its user name.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Redact returns raw without the user name and password it may carry
// (http://user:pass@host/...), for task inputs, messages and logs; what is
// not a URL is returned as it is.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// body is a download's body: it fails once more than its budget has been
// read, and once the server has sent nothing for the idle timeout.
type body struct {
	io.ReadCloser
	left   int64
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
}

func (b *body) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, ErrTooLarge
	}
	b.timer.Reset(b.idle)
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return 0, ErrTooLarge
	}
	if err != nil && errors.Is(context.Cause(b.ctx), ErrIdle) {
		return n, ErrIdle
	}
	return n, err
}

// Close ends the download.
func (b *body) Close() error {
	b.timer.Stop()
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}
