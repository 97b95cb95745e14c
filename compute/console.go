package compute

import (
	"context"
	"time"
)

// Console types of os-getVNCConsole (Nova's). Only noVNC is served here;
// xvpvnc, which Nova's API still accepts, is refused as Nova refuses it.
const (
	ConsoleNoVNC  = "novnc"
	ConsoleXVPVNC = "xvpvnc"
)

// ConsoleAuth is one console token and what it opens (Nova's
// ConsoleAuthToken).
type ConsoleAuth struct {
	// Token is the secret the browser presents to the console proxy.
	Token       string
	ServerID    string
	ConsoleType string // ConsoleNoVNC
	// URL is what the API answers: the noVNC page, with the token in it.
	URL     string
	Expires time.Time
}

// Consoles issues and checks the short-lived tokens of remote consoles
// (Nova's console auth tokens); the console proxy that serves them
// implements it and cmd hands it to the compute service. Tokens live in
// the proxy's memory only: a restart ends them, as it ends the consoles.
type Consoles interface {
	// Authorize issues a new token for a console of consoleType on the
	// server, valid from now for the proxy's time to live and usable any
	// number of times until then (noVNC reconnects with it). The number of
	// live tokens is bounded: a server's oldest tokens make room for its
	// new ones, and when every server's tokens together reach the proxy's
	// limit, Authorize fails with an error wrapping ErrUnavailable. The
	// caller has checked that the server exists, may be seen and runs.
	Authorize(ctx context.Context, serverID, consoleType string) (ConsoleAuth, error)
	// Lookup returns the live token's record; an unknown or expired token
	// is an error wrapping ErrNotFound.
	Lookup(ctx context.Context, token string) (ConsoleAuth, error)
	// Revoke ends every token of the server (it is being deleted); consoles
	// already open close when the VM's VNC server goes away.
	Revoke(ctx context.Context, serverID string)
}
