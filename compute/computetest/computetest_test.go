package computetest_test

import (
	"testing"

	"imagestack/compute"
	"imagestack/compute/computetest"
)

// TestFakeHypervisor: the fake meets the contract the libvirt driver meets.
func TestFakeHypervisor(t *testing.T) {
	computetest.HypervisorSuite(t, func(*testing.T) compute.Hypervisor { return computetest.NewHypervisor() })
}
