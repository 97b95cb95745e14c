package main

import (
	"strings"
	"testing"

	"imagestack/common/cluster"
	"imagestack/common/config"
)

func TestMemberName(t *testing.T) {
	cfg := config.Default()
	cfg.Compute.Host, cfg.Image.Listen = "node-1", "0.0.0.0:9292"
	m := newMember(cfg)
	if m.Name != "node-1:9292" || cluster.NameOf(m.ID) != m.Name || m.Host != "node-1" || !m.Has(cluster.RoleAPI) {
		t.Fatalf("default member: %+v", m)
	}
	if again := newMember(cfg); again.Name != m.Name || again.ID == m.ID {
		t.Fatalf("a restart must keep the name and change the id: %+v %+v", m, again)
	}
	cfg.Cluster.MemberName = "api-2"
	if m := newMember(cfg); m.Name != "api-2" {
		t.Fatalf("member_name not used: %+v", m)
	}
	cfg.Cluster.MemberName, cfg.Image.Listen = "", "127.0.0.1:0"
	if m := newMember(cfg); !strings.HasPrefix(m.Name, "node-1:pid-") {
		t.Fatalf("a port of 0 is no stable name: %+v", m)
	}
}
