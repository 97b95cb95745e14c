package tests

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	golibvirt "github.com/digitalocean/go-libvirt"

	"imagestack/network/dataplane"
)

// removeDomainsUnder destroys and undefines every libvirt domain whose
// definition names a path under dir: the guests of a test server that
// ended (or failed) before deleting its servers. Without it a failed test
// leaves its guest running and using CPU, which slows every later test.
func removeDomainsUnder(t testing.TB, dir string) {
	uri := os.Getenv("TEST_LIBVIRT_URI")
	if uri == "" {
		return
	}
	u, err := url.Parse(uri)
	if err != nil {
		t.Errorf("TEST_LIBVIRT_URI: %v", err)
		return
	}
	l, err := golibvirt.ConnectToURI(u)
	if err != nil {
		return // no libvirt: the tests that need one fail on their own
	}
	defer l.Disconnect()
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err != nil {
		t.Errorf("list libvirt domains: %v", err)
		return
	}
	for _, d := range doms {
		xml, err := l.DomainGetXMLDesc(d, 0)
		if err != nil || !strings.Contains(xml, dir+"/") {
			continue
		}
		_ = l.DomainDestroy(d)
		if err := l.DomainUndefineFlags(d, golibvirt.DomainUndefineNvram); err != nil {
			_ = l.DomainUndefine(d)
		}
		t.Logf("removed domain %s left by the test", d.Name)
	}
}

// removeNetworksUnder tears down the host side of every network a test
// server made (bridges, namespaces, dnsmasqs outlive the server, as
// Neutron's do): tests leave none behind.
func removeNetworksUnder(t testing.TB, dir string) {
	if err := dataplane.RemoveAll(context.Background(), filepath.Join(dir, "network")); err != nil {
		t.Errorf("removing the test server's networks: %v", err)
	}
}
