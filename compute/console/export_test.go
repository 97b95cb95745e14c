package console

import "time"

// SetClock makes the proxy's tokens read the time from now.
func (p *Proxy) SetClock(now func() time.Time) {
	p.tokens.mu.Lock()
	defer p.tokens.mu.Unlock()
	p.tokens.now = now
}

// Sessions is the number of consoles open.
func (p *Proxy) Sessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sessions)
}

// Tokens is the number of tokens held.
func (p *Proxy) Tokens() int { return p.tokens.count() }
