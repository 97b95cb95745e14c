package console

import (
	"io"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const (
	// relayBuffer is the size of each direction's copy buffer: a session
	// holds two of them, whatever the messages' sizes.
	relayBuffer = 32 << 10
	// writeTimeout ends a session whose peer stops reading.
	writeTimeout = time.Minute
	// closeTimeout bounds the close frame sent on the way out.
	closeTimeout = time.Second
)

// session is one open console: a websocket and the VNC connection it is
// relayed to.
type session struct {
	ws   *websocket.Conn
	vnc  net.Conn
	once sync.Once
}

// close ends both connections, telling the browser why when it can; it is
// safe to call from any goroutine, more than once.
func (s *session) close() {
	s.once.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "console closed")
		_ = s.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeTimeout))
		s.ws.Close()
		s.vnc.Close()
	})
}

// reserve takes one of the server's console slots, which release gives
// back; false when they are all taken or the proxy is closed.
func (p *Proxy) reserve(serverID string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.open[serverID] >= p.cfg.MaxSessionsPerServer {
		return false
	}
	p.open[serverID]++
	p.relays.Add(1)
	return true
}

func (p *Proxy) release(serverID string) {
	p.mu.Lock()
	if p.open[serverID]--; p.open[serverID] <= 0 {
		delete(p.open, serverID)
	}
	p.mu.Unlock()
	p.relays.Done()
}

// relay copies binary frames from ws to vnc and vnc's bytes to ws as
// binary frames until either side ends, then closes both. It returns once
// both directions have stopped; Close ends it early, and so does the
// token's expiry when the proxy enforces it.
func (p *Proxy) relay(ws *websocket.Conn, vnc net.Conn, expires time.Time) {
	s := &session{ws: ws, vnc: vnc}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		s.close()
		return
	}
	p.sessions[s] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.sessions, s)
		p.mu.Unlock()
	}()

	if p.cfg.EnforceSessionTimeout {
		timer := time.AfterFunc(time.Until(expires), s.close)
		defer timer.Stop()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer s.close()
		toVNC(ws, vnc)
	}()
	toBrowser(vnc, ws)
	s.close()
	<-done
}

// toVNC copies the browser's binary messages to the VNC server until the
// websocket ends, a write fails or a text message comes (noVNC sends none;
// websockify's base64 text protocol is not spoken here).
func toVNC(ws *websocket.Conn, vnc net.Conn) {
	buf := make([]byte, relayBuffer)
	for {
		typ, r, err := ws.NextReader()
		if err != nil {
			return
		}
		if typ != websocket.BinaryMessage {
			msg := websocket.FormatCloseMessage(websocket.CloseUnsupportedData, "binary frames only")
			_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeTimeout))
			return
		}
		_ = vnc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := io.CopyBuffer(writerOnly{vnc}, r, buf); err != nil {
			return
		}
	}
}

// toBrowser sends what the VNC server writes to the browser, one binary
// message per read, until the VNC connection ends or a send fails.
func toBrowser(vnc net.Conn, ws *websocket.Conn) {
	buf := make([]byte, relayBuffer)
	for {
		n, err := vnc.Read(buf)
		if n > 0 {
			_ = ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if werr := ws.WriteMessage(websocket.BinaryMessage, buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF: the VM's VNC server went away; or Close
		}
	}
}

// writerOnly hides the connection's ReadFrom, so that io.CopyBuffer uses
// the session's own bounded buffer.
type writerOnly struct{ io.Writer }
