package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// listenAll binds every API's address (none for an empty one: that API is
// off); on any failure it releases the others.
func listenAll(addrs map[string]string) (map[string]net.Listener, error) {
	lns := map[string]net.Listener{}
	for name, addr := range addrs {
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("%s API: %w", name, err)
		}
		lns[name] = ln
	}
	return lns, nil
}

// serveAll serves each API on its listener until ctx ends or one fails.
func serveAll(ctx context.Context, log *slog.Logger, lns map[string]net.Listener, handlers map[string]http.Handler) error {
	errc := make(chan error, len(lns))
	var servers []*http.Server
	for name, ln := range lns {
		hs := &http.Server{Handler: handlers[name], ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		servers = append(servers, hs)
		log.Info("listening", "api", name, "addr", ln.Addr().String())
		go func(ln net.Listener) { errc <- hs.Serve(ln) }(ln)
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, hs := range servers {
		_ = hs.Shutdown(shutdown)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// closeAll releases the listeners serveAll did not take over.
func closeAll(lns map[string]net.Listener) {
	for _, l := range lns {
		l.Close()
	}
}
