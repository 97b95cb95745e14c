package webfetch_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"imagestack/glance/webfetch"
)

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "2606:4700::1111": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "0.0.0.0": false, "100.64.0.1": false, "fd00::1": false,
		"224.0.0.1": false, "::ffff:127.0.0.1": false,
		// IPv6 ranges that lead to IPv4 hosts, and site-local.
		"2002:a00:1::1": false, "2001:0:4136:e378:8000:63bf:3fff:fdd2": false, "64:ff9b:1::a00:1": false,
		"fec0::1": false, "::7f00:1": false, "64:ff9b::a00:1": false,
	} {
		if got := webfetch.Public(netip.MustParseAddr(addr).Unmap()); got != want {
			t.Errorf("Public(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestRefusals(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "data") }))
	defer srv.Close()
	f := webfetch.New(webfetch.Policy{})
	for _, u := range []string{srv.URL, "file:///etc/passwd", "ftp://example.org/x", "http://[::1]:1/", "http://169.254.169.254/latest/meta-data/", "gopher://x"} {
		if _, err := f.Open(context.Background(), u, 1<<20); !errors.Is(err, webfetch.ErrRefused) {
			t.Errorf("Open(%s) = %v, want refused", u, err)
		}
	}
}

func TestAllowListRedirectsAndCap(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/data", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 100)) })
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		for range 10 {
			io.WriteString(w, strings.Repeat("y", 10))
			w.(http.Flusher).Flush() // chunked: no Content-Length to check up front
		}
	})
	mux.HandleFunc("/hop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/data", http.StatusFound) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := webfetch.New(webfetch.Policy{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, MaxRedirects: 3})
	rc, err := f.Open(context.Background(), srv.URL+"/hop", 1000)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || len(data) != 100 {
		t.Fatalf("allowed fetch through a redirect: %d %v", len(data), err)
	}
	if _, err := f.Open(context.Background(), srv.URL+"/loop", 1000); !errors.Is(err, webfetch.ErrRefused) {
		t.Fatalf("redirect loop: %v", err)
	}
	if _, err := f.Open(context.Background(), srv.URL+"/file", 1000); !errors.Is(err, webfetch.ErrRefused) {
		t.Fatalf("redirect to file://: %v", err)
	}
	if _, err := f.Open(context.Background(), srv.URL+"/data", 50); !errors.Is(err, webfetch.ErrTooLarge) {
		t.Fatalf("announced size over the cap: %v", err)
	}
	rc, err = f.Open(context.Background(), srv.URL+"/stream", 50)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if !errors.Is(err, webfetch.ErrTooLarge) || n > 50 {
		t.Fatalf("streamed data over the cap: read %d, %v", n, err)
	}
}

// A server that stops sending fails the download after the idle timeout,
// and credentials in a URL never reach an error message.
func TestIdleTimeoutAndRedaction(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "first bytes")
		w.(http.Flusher).Flush()
		<-release
	}))
	defer srv.Close()
	defer close(release)
	f := webfetch.New(webfetch.Policy{AllowedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, IdleTimeout: 200 * time.Millisecond})
	rc, err := f.Open(context.Background(), srv.URL+"/stall", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = io.Copy(io.Discard, rc)
	rc.Close()
	if !errors.Is(err, webfetch.ErrIdle) || time.Since(start) > 3*time.Second {
		t.Fatalf("stalled download: %v after %v", err, time.Since(start))
	}
	withCreds := strings.Replace(srv.URL, "http://", "http://alice:s3cret@", 1) + "/missing"
	_, err = f.Open(context.Background(), withCreds, 1<<20)
	if err == nil || strings.Contains(err.Error(), "alice") || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error for a URL with credentials: %v", err)
	}
	if got := webfetch.Redact("https://alice:s3cret@example.org/x.img?y=1"); got != "https://example.org/x.img?y=1" {
		t.Fatalf("Redact = %q", got)
	}
}
