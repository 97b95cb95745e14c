package console

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"imagestack/compute"
)

// Sockets is what the proxy needs of the hypervisor (compute.Hypervisor
// has it): the path of a running server's VNC socket, or an error wrapping
// compute.ErrNotFound.
type Sockets interface {
	ConsoleSocket(ctx context.Context, serverID string) (string, error)
}

// dialTimeout bounds connecting to a VNC socket.
const dialTimeout = 10 * time.Second

// Handler serves the noVNC pages and, on any path, the websocket noVNC
// opens with a token (in the query's "token", or in a "token" cookie, as
// Nova's proxy reads it). sockets finds the VNC servers; nil (no
// hypervisor on this host) refuses every console with 503.
func (p *Proxy) Handler(sockets Sockets) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		switch {
		case r.Method == http.MethodGet && websocket.IsWebSocketUpgrade(r):
			p.serveConsole(w, r, sockets)
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			p.servePage(w, r)
		default:
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		}
	})
}

// servePage serves a file of the noVNC directory, read at each request
// (the novnc package may be upgraded under a running proxy). Nothing
// outside the directory is reachable, symbolic links included, and
// directories are not listed.
func (p *Proxy) servePage(w http.ResponseWriter, r *http.Request) {
	root, err := os.OpenRoot(p.cfg.NoVNCDir)
	if err != nil {
		p.log.Error("noVNC pages are missing (install the novnc package or set compute.console.novnc_dir)", "dir", p.cfg.NoVNCDir, "err", err)
		http.Error(w, "The console pages are not installed on this host.", http.StatusServiceUnavailable)
		return
	}
	defer root.Close()
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "."
	}
	if fi, err := root.Stat(name); err != nil || fi.IsDir() {
		http.NotFound(w, r)
		return
	}
	http.FileServerFS(root.FS()).ServeHTTP(w, r)
}

// token reads the console token of a websocket request.
func token(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	if c, err := r.Cookie("token"); err == nil {
		return c.Value
	}
	return ""
}

// serveConsole checks the token and the origin, connects to the server's
// VNC socket and only then upgrades, so that every refusal is an HTTP
// status the client can read; then it relays until either side ends.
func (p *Proxy) serveConsole(w http.ResponseWriter, r *http.Request, sockets Sockets) {
	auth, err := p.Lookup(r.Context(), token(r))
	if err != nil {
		p.log.Info("console refused: invalid or expired token", "remote", r.RemoteAddr)
		http.Error(w, "The console token is invalid or has expired.", http.StatusForbidden)
		return
	}
	if !sameOrigin(r, p.public.Hostname()) {
		p.log.Info("console refused: origin of another host", "server", auth.ServerID, "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		http.Error(w, "Origin header does not match this host.", http.StatusForbidden)
		return
	}
	if sockets == nil {
		http.Error(w, "No hypervisor is available on this host.", http.StatusServiceUnavailable)
		return
	}
	if !p.reserve(auth.ServerID) {
		http.Error(w, "Too many consoles of this server are open.", http.StatusTooManyRequests)
		return
	}
	defer p.release(auth.ServerID)
	vnc, err := dialVNC(r.Context(), sockets, auth.ServerID)
	if errors.Is(err, errNoConsole) {
		http.Error(w, "The server has no running console (is it stopped?).", http.StatusNotFound)
		return
	}
	if err != nil {
		p.log.Error("console: cannot reach the VNC server", "server", auth.ServerID, "err", err)
		http.Error(w, "The console cannot be reached; the operator's logs say why.", http.StatusInternalServerError)
		return
	}
	up := websocket.Upgrader{Subprotocols: []string{"binary"}, CheckOrigin: func(*http.Request) bool { return true },
		HandshakeTimeout: dialTimeout}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		vnc.Close() // Upgrade has answered the client
		return
	}
	p.log.Info("console opened", "server", auth.ServerID, "remote", r.RemoteAddr)
	p.relay(ws, vnc, auth.Expires)
	p.log.Info("console closed", "server", auth.ServerID, "remote", r.RemoteAddr)
}

// errNoConsole: the server's VM does not run (or has no VNC server).
var errNoConsole = errors.New("no running console")

// dialVNC connects to the server's VNC socket.
func dialVNC(ctx context.Context, sockets Sockets, serverID string) (net.Conn, error) {
	sock, err := sockets.ConsoleSocket(ctx, serverID)
	if errors.Is(err, compute.ErrNotFound) {
		return nil, errNoConsole
	}
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: dialTimeout}
	vnc, err := d.DialContext(ctx, "unix", sock)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		// The VM went away between the two steps.
		return nil, errNoConsole
	}
	return vnc, err
}

// sameOrigin is Nova's origin check: a browser's Origin must name the host
// the request was sent to or the proxy's public host (behind a reverse
// proxy that rewrites Host), ports aside; clients that send no Origin (not
// browsers) pass.
func sameOrigin(r *http.Request, publicHost string) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Hostname() == "" {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.EqualFold(u.Hostname(), strings.Trim(host, "[]")) || strings.EqualFold(u.Hostname(), publicHost)
}
