package networktest_test

import (
	"slices"
	"testing"

	"imagestack/network"
	"imagestack/network/networktest"
)

// The in-memory fake passes the suite's contract checks; one instance
// stands for the service across restarts.
func TestFakeDataplane(t *testing.T) {
	fakes := map[*testing.T]*networktest.Dataplane{}
	networktest.DataplaneSuite(t, func(t *testing.T) network.Dataplane {
		if fakes[t] == nil {
			fakes[t] = networktest.NewDataplane()
		}
		return fakes[t]
	}, networktest.DataplaneOptions{Leftovers: func(t *testing.T, id string) []string {
		if slices.Contains(fakes[t].Networks(), id) {
			return []string{"network " + id}
		}
		return nil
	}})
}
