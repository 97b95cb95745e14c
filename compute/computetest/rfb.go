package computetest

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"imagestack/compute"
)

// DesktopName is the name the fake hypervisor's VNC servers give their
// desktop in ServerInit, followed by the server id.
const DesktopName = "imagestack-fake "

// rfbVersion is RFB 3.8's ProtocolVersion message.
const rfbVersion = "RFB 003.008\n"

// vncServers are the fake hypervisor's VNC servers: one tiny RFB server on
// a unix socket per running domain whose console was asked for, as QEMU
// runs one per VM. A domain that stops or goes loses its server; it gets
// one again, at the same path, when it runs again. The sockets live in a
// directory of the hypervisor's own that exists while some server does.
type vncServers struct {
	mu   sync.Mutex
	dir  string // chosen at first use, then kept
	byID map[string]*rfbServer
}

// rfbServer serves the RFB handshake of one domain's console, then reads
// and ignores what clients send until they leave or it is stopped.
type rfbServer struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// socket returns the path of the domain's VNC socket, starting its server
// when it has none.
func (v *vncServers) socket(id string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.dir == "" {
		v.dir = filepath.Join(os.TempDir(), "imagestack-fake-vnc-"+rand.Text()[:16])
	}
	path := filepath.Join(v.dir, id+".sock")
	if v.byID[id] != nil {
		return path, nil
	}
	if len(v.byID) == 0 {
		if err := os.Mkdir(v.dir, 0o700); err != nil {
			return "", fmt.Errorf("VNC sockets directory: %w", err)
		}
		v.byID = map[string]*rfbServer{}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return "", fmt.Errorf("VNC socket of server %s: %w", id, err)
	}
	srv := &rfbServer{ln: ln, conns: map[net.Conn]struct{}{}}
	v.byID[id] = srv
	srv.wg.Add(1)
	go srv.serve(DesktopName + id)
	return path, nil
}

// stop ends the domain's VNC server, if it has one, and its connections;
// the last one's end removes the sockets' directory.
func (v *vncServers) stop(id string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	srv := v.byID[id]
	if srv == nil {
		return
	}
	delete(v.byID, id)
	srv.stop()
	if len(v.byID) == 0 {
		os.RemoveAll(v.dir)
	}
}

// closeAll stops every server and removes the sockets' directory.
func (v *vncServers) closeAll() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, srv := range v.byID {
		srv.stop()
	}
	if len(v.byID) > 0 {
		os.RemoveAll(v.dir)
	}
	v.byID = nil
}

// CloseConsoles stops the VNC servers of every domain and removes their
// sockets; NewSetup calls it when the test ends (others who call
// ConsoleSocket must, or stop or destroy every domain).
func (h *Hypervisor) CloseConsoles() { h.vnc.closeAll() }

func (s *rfbServer) serve(name string) {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			if serveRFB(c, name) == nil {
				_, _ = io.Copy(io.Discard, c)
			}
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

func (s *rfbServer) stop() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// serveRFB is the server side of RFB 3.8's handshake with security type
// None and a 1x1 framebuffer.
func serveRFB(c io.ReadWriter, name string) error {
	if _, err := io.WriteString(c, rfbVersion); err != nil {
		return err
	}
	var version [12]byte
	var choice, shared [1]byte
	if _, err := io.ReadFull(c, version[:]); err != nil {
		return err
	}
	if string(version[:]) != rfbVersion {
		return fmt.Errorf("rfb: client speaks %q", version)
	}
	if _, err := c.Write([]byte{1, 1}); err != nil { // one security type: None
		return err
	}
	if _, err := io.ReadFull(c, choice[:]); err != nil || choice[0] != 1 {
		return fmt.Errorf("rfb: security type %d chosen: %v", choice[0], err)
	}
	if _, err := c.Write([]byte{0, 0, 0, 0}); err != nil { // SecurityResult OK
		return err
	}
	if _, err := io.ReadFull(c, shared[:]); err != nil { // ClientInit
		return err
	}
	init := binary.BigEndian.AppendUint16(nil, 1) // width
	init = binary.BigEndian.AppendUint16(init, 1) // height
	// Pixel format: 32 bpp, depth 24, little-endian, true colour, 8 bits
	// per channel at shifts 16, 8, 0, three bytes of padding.
	init = append(init, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0)
	init = binary.BigEndian.AppendUint32(init, uint32(len(name)))
	_, err := c.Write(append(init, name...))
	return err
}

// CheckConsole fails the test unless the server's console socket speaks
// RFB 3.8 with security None up to ServerInit, with a desktop of some
// size: what the console proxy needs of a hypervisor.
func CheckConsole(t testing.TB, h compute.Hypervisor, id string) {
	t.Helper()
	sock, err := h.ConsoleSocket(t.Context(), id)
	if err != nil {
		t.Fatalf("ConsoleSocket of a running server: %v", err)
	}
	c, err := net.DialTimeout("unix", sock, 10*time.Second)
	if err != nil {
		t.Fatalf("VNC socket %s: %v", sock, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	w, hgt, name, err := RFBHandshake(c)
	if err != nil || w == 0 || hgt == 0 {
		t.Fatalf("RFB handshake on %s: %dx%d %q %v", sock, w, hgt, name, err)
	}
}

// RFBHandshake is the client side of RFB 3.8's handshake over c, asking
// for security type None: ProtocolVersion, security, SecurityResult,
// ClientInit (shared) and ServerInit. It returns the desktop's size and
// name.
func RFBHandshake(c io.ReadWriter) (width, height int, name string, err error) {
	var version [12]byte
	if _, err := io.ReadFull(c, version[:]); err != nil {
		return 0, 0, "", fmt.Errorf("ProtocolVersion: %w", err)
	}
	if string(version[:]) != rfbVersion {
		return 0, 0, "", fmt.Errorf("server speaks %q", version)
	}
	if _, err := io.WriteString(c, rfbVersion); err != nil {
		return 0, 0, "", err
	}
	var n [1]byte
	if _, err := io.ReadFull(c, n[:]); err != nil || n[0] == 0 {
		return 0, 0, "", fmt.Errorf("security types: %d offered, %v", n[0], err)
	}
	types := make([]byte, n[0])
	if _, err := io.ReadFull(c, types); err != nil {
		return 0, 0, "", err
	}
	if !slices.Contains(types, 1) {
		return 0, 0, "", fmt.Errorf("security None not offered (%v)", types)
	}
	if _, err := c.Write([]byte{1}); err != nil {
		return 0, 0, "", err
	}
	var result [4]byte
	if _, err := io.ReadFull(c, result[:]); err != nil || binary.BigEndian.Uint32(result[:]) != 0 {
		return 0, 0, "", fmt.Errorf("SecurityResult %v: %v", result, err)
	}
	if _, err := c.Write([]byte{1}); err != nil { // ClientInit: shared
		return 0, 0, "", err
	}
	var init [24]byte
	if _, err := io.ReadFull(c, init[:]); err != nil {
		return 0, 0, "", fmt.Errorf("ServerInit: %w", err)
	}
	nameLen := binary.BigEndian.Uint32(init[20:])
	if nameLen > 1<<16 {
		return 0, 0, "", fmt.Errorf("ServerInit: name of %d bytes", nameLen)
	}
	nameBuf := make([]byte, nameLen)
	if _, err := io.ReadFull(c, nameBuf); err != nil {
		return 0, 0, "", fmt.Errorf("ServerInit name: %w", err)
	}
	return int(binary.BigEndian.Uint16(init[0:])), int(binary.BigEndian.Uint16(init[2:])), string(nameBuf), nil
}

// WebsocketStream reads and writes a websocket's binary messages as one
// byte stream, as noVNC does: each Write is one message.
func WebsocketStream(ws *websocket.Conn) io.ReadWriter { return &wsStream{ws: ws} }

type wsStream struct {
	ws *websocket.Conn
	r  io.Reader
}

func (s *wsStream) Read(p []byte) (int, error) {
	for {
		if s.r != nil {
			n, err := s.r.Read(p)
			if !errors.Is(err, io.EOF) {
				return n, err
			}
			s.r = nil
			if n > 0 {
				return n, nil
			}
		}
		typ, r, err := s.ws.NextReader()
		if err != nil {
			return 0, err
		}
		if typ != websocket.BinaryMessage {
			return 0, fmt.Errorf("websocket: message of type %d, not binary", typ)
		}
		s.r = r
	}
}

func (s *wsStream) Write(p []byte) (int, error) {
	if err := s.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
