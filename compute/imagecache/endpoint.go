package imagecache

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"time"

	"imagestack/compute"
)

// CookieName is the cookie QEMU sends the endpoint.
const CookieName = "imagestack_base"

// Endpoint serves the cache's bases to QEMU over loopback HTTP: GET and
// HEAD /<image id>, with Range, to requests carrying the secret cookie
// (any local user can reach the port; only libvirt's domains know the
// cookie). A base still arriving is served from its Fill, fetching what is
// missing; a verified one from its file.
//
// Domains booted on a lazy base keep reading it here for as long as they
// exist (the base is verified by then: reads are local file reads), so the
// endpoint's address and cookie are kept in a state file and taken again
// after a restart: running domains carry on.
type Endpoint struct {
	cache  *Cache
	srv    *http.Server
	addr   string
	cookie string
}

// endpointState is what the state file keeps.
type endpointState struct {
	Addr   string `json:"addr"`
	Cookie string `json:"cookie"`
}

// Serve starts the cache's endpoint on 127.0.0.1, at the address and with
// the cookie kept in stateFile (a new port and cookie the first time, or
// when the old port is taken).
func (c *Cache) Serve(stateFile string) (*Endpoint, error) {
	var st endpointState
	if b, err := os.ReadFile(stateFile); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	ln, err := listenLoopback(st.Addr)
	if err != nil {
		if st.Addr != "" {
			c.log.Warn("the lazy base endpoint cannot listen at its former address (taken, or not loopback): domains started before fail reads of their base", "addr", st.Addr, "err", err)
		}
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	if st.Cookie == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			ln.Close()
			return nil, err
		}
		st.Cookie = hex.EncodeToString(b)
	}
	st.Addr = ln.Addr().String()
	b, _ := json.Marshal(st)
	if err := os.WriteFile(stateFile, b, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	e := &Endpoint{cache: c, addr: st.Addr, cookie: st.Cookie}
	e.srv = &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second}
	go e.srv.Serve(ln)
	return e, nil
}

// listenLoopback listens on addr when it is a loopback address with a port
// (never "" or a wildcard, which would listen on every interface).
func listenLoopback(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() || port == "0" {
		return nil, fmt.Errorf("%q is not a loopback address with a port", addr)
	}
	return net.Listen("tcp", addr)
}

// Close stops the endpoint.
func (e *Endpoint) Close() error { return e.srv.Close() }

// imageIDPattern keeps requests to image ids (never a path elsewhere, never
// a partial file).
var imageIDPattern = regexp.MustCompile(`^/([0-9A-Za-z_-]{1,64})$`)

// ServeHTTP implements http.Handler.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(CookieName)
	if err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(e.cookie)) != 1 {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	m := imageIDPattern.FindStringSubmatch(r.URL.Path)
	if m == nil {
		http.NotFound(w, r)
		return
	}
	ra, size, done, err := e.cache.reader(m[1])
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer done()
	w.Header().Set("Content-Type", "application/octet-stream")
	// ServeContent answers Range (one or several), HEAD and Accept-Ranges.
	http.ServeContent(w, r, "", time.Time{}, io.NewSectionReader(ra, 0, size))
}

// Begin returns where the image's verified base is or will be; when this
// call starts the base's fill, also how a VM reads the base meanwhile and
// the fill. It implements the compute service's LazyBases.
func (e *Endpoint) Begin(ctx context.Context, imageID, checksum string, size int64,
	src func(ctx context.Context, off, n int64, w io.Writer) error) (string, *compute.LazyBase, compute.ArrivingBase, error) {
	if !imageIDPattern.MatchString("/" + imageID) {
		return "", nil, nil, fmt.Errorf("image id %q cannot name a base", imageID)
	}
	if size <= 0 {
		return "", nil, nil, errors.New("the image's size is unknown")
	}
	path, fl, err := e.cache.Begin(ctx, imageID, checksum, size, src)
	if err != nil || fl == nil {
		return path, nil, nil, err
	}
	lazy := &compute.LazyBase{URL: "http://" + e.addr + "/" + imageID, CookieName: CookieName, Cookie: e.cookie}
	return path, lazy, fl, nil
}

// Have reports whether the image's verified base is here.
func (e *Endpoint) Have(imageID string) bool {
	_, err := os.Stat(e.cache.Path(imageID))
	return err == nil && imageIDPattern.MatchString("/"+imageID)
}
