package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadYAML(t *testing.T, doc string) (Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

func TestExternalIdentityMode(t *testing.T) {
	c, err := loadYAML(t, "identity: {mode: external, region: R2, external: {auth_url: 'http://ks:5000/v3/', username: glance, password: pw, project_name: service}}\n")
	if err != nil {
		t.Fatal(err)
	}
	e := c.Identity.External
	if e.AuthURL != "http://ks:5000/v3" || e.WWWAuthenticateURI != e.AuthURL || e.Region != "R2" ||
		e.CacheTTL.Std() != time.Minute || e.CacheSize != 10000 || !e.ServiceTokenRolesRequired || e.UserDomainName != "Default" ||
		e.LimitsCacheTTL.Std() != 10*time.Second || !e.LimitsSystemScope {
		t.Errorf("external defaults: %+v", e)
	}
	for doc, want := range map[string]string{
		"identity: {mode: remote}\n":   "identity.mode must be embedded or external",
		"identity: {mode: external}\n": "needs identity.external.auth_url",
		"identity: {mode: external, external: {auth_url: x, username: u, password: p, project_name: s, cache_size: 0}}\n":         "cache_size",
		"identity: {mode: external, external: {auth_url: x, username: u, password: p, project_name: s, limits_cache_ttl: -1s}}\n": "limits_cache_ttl",
	} {
		if _, err := loadYAML(t, doc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", doc, err, want)
		}
	}
}
