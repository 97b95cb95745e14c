package computetest_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"imagestack/compute/computetest"
)

func TestFakeNetworks(t *testing.T) {
	computetest.NetworksSuite(t, func(t *testing.T) computetest.NetworksFixture {
		n := computetest.NewNetworks()
		return computetest.NetworksFixture{Networks: n, User: computetest.MemberCreds,
			AddNetwork: func(t *testing.T, name, cidr string) string {
				id := uuid.NewString()
				n.Add(id, name, strings.TrimSuffix(cidr, ".0/24"))
				return id
			},
			AddSecurityGroup: func(t *testing.T, name string) string {
				id := uuid.NewString()
				n.AddSecurityGroup(id, name)
				return id
			}}
	})
}
