package service_test

import (
	"context"
	"testing"

	"imagestack/compute/computetest"
	"imagestack/network/networktest"
	"imagestack/network/service"
)

// TestComputeNetworksContract: the adapter compute uses passes the
// compute.Networks conformance suite.
func TestComputeNetworksContract(t *testing.T) {
	computetest.NetworksSuite(t, func(t *testing.T) computetest.NetworksFixture {
		e := networktest.NewSetup(t)
		return computetest.NetworksFixture{Networks: e.Service.ForCompute(), User: networktest.MemberCreds,
			AddNetwork: func(t *testing.T, name, cidr string) string {
				ctx, shared := context.Background(), true
				n, err := e.Service.CreateNetwork(ctx, networktest.AdminCreds, service.NetworkInput{Name: &name, Shared: &shared})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := e.Service.CreateSubnet(ctx, networktest.AdminCreds, service.SubnetInput{NetworkID: &n.ID, CIDR: &cidr}); err != nil {
					t.Fatal(err)
				}
				return n.ID
			},
			AddSecurityGroup: func(t *testing.T, name string) string {
				g, err := e.Service.CreateSecurityGroup(context.Background(), networktest.MemberCreds, service.GroupInput{Name: &name})
				if err != nil {
					t.Fatal(err)
				}
				return g.ID
			}}
	})
}
