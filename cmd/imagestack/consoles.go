package main

import (
	"log/slog"
	"net/http"
	"slices"

	"imagestack/common/cluster"
	"imagestack/common/config"
	"imagestack/compute/console"
	computeservice "imagestack/compute/service"
)

// startConsoles builds the remote console proxy of compute.console and
// gives the compute service its tokens; consoles stay off (no proxy, stop
// does nothing) when its listen is empty or this process is no compute
// host (the proxy reaches the VMs through the host's hypervisor). stop, never nil, closes the
// consoles still open.
func startConsoles(cfg config.Config, deps *computeservice.Deps, log *slog.Logger) (proxy *console.Proxy, stop func(), err error) {
	stop = func() {}
	cc := cfg.Compute.Console
	if cc.Listen == "" || !slices.Contains(cfg.Roles, cluster.RoleCompute) {
		return nil, stop, nil
	}
	proxy, err = console.New(console.Config{PublicURL: cc.PublicURL, NoVNCDir: cc.NoVNCDir, TokenTTL: cc.TokenTTL.Std(),
		EnforceSessionTimeout: cc.EnforceSessionTimeout}, log)
	if err != nil {
		return nil, stop, err
	}
	deps.Consoles = proxy
	return proxy, proxy.Close, nil
}

// consoleHandler adds the proxy's pages and websockets, reaching the VMs
// through the compute service's hypervisor (none: consoles answer 503), to
// handlers.
func consoleHandler(handlers map[string]http.Handler, proxy *console.Proxy, svc *computeservice.Service) {
	if proxy != nil {
		handlers["console"] = proxy.Handler(svc.Hypervisor)
	}
}
