// Package hostrpc carries hypervisor calls from API replicas to the compute
// hosts that run the VMs, through rows of the shared database (table
// host_calls, compute migration 17): no network protocol of its own, only
// the engine operators already run and back up.
//
// An API replica's Hypervisor (New) is a compute.Hypervisor: each call
// finds the server's host (Locator: compute.Server.Host), fails at once
// with compute.ErrUnavailable when the host is down (HostLiveness), queues
// a row for the host and polls it until the host's Agent has written the
// result (20 ms, doubling up to 200 ms). The Agent, in the compute-role
// process of that host, claims its host's queued rows (MariaDB: SELECT ...
// FOR UPDATE SKIP LOCKED in a transaction, then a compare-and-set to
// running; SQLite: the compare-and-set alone), runs them on the host's own
// hypervisor (a bounded pool, one call at a time per server, in the order
// they were queued), renews its lease on them while they run, and writes
// the result or the error with its kind (compute.ErrNotFound,
// ErrConflict, ...), which the caller gets back.
//
// Ownership is by lease: a host process that dies while running a call
// stops renewing it, and once its lease expired any member (RecoverExpired,
// or the caller waiting on it) fails it as interrupted, exactly once (a
// compare-and-set). A restarted agent fails its own previous run's calls at
// once (same cluster.Member Name, another ID).
//
// What crosses hosts: base images, kernels and ramdisks travel as
// references ("image:<id>?checksum=<md5>", made by DeferredCache on the API
// side) that the agent resolves with the host's own image cache (Resolver);
// a plain path is passed as it is (a shared filesystem, or one machine). A
// config drive travels as its bytes and is written on the host. A snapshot
// is written on the host and streamed back through the shared blob store
// (a temporary key the caller copies to its file and deletes). ConsoleSocket
// returns the path of the socket on the server's host, which only a console
// proxy on that host can open.
//
// Wiring in cmd/imagestack:
//
//   - api role: service Deps.Hypervisor = hostrpc.New(Config{DB, Hosts:
//     FromServers(repo, ""), Liveness: <the scheduler's host registry>,
//     Blobs: <the shared blob store>, DomainName: <libvirt's naming>}),
//     Deps.Cache = hostrpc.DeferredCache{}, Deps.LazyBases = nil; run
//     RunRecovery(ctx, db, every, log) in every member.
//   - compute role: hostrpc.NewAgent(AgentConfig{DB, Member, Hypervisor:
//     <the local libvirt driver>, Resolve: CacheResolver(<the host's image
//     cache>, <download with the service's credentials>), Blobs, Dir}) and
//     Run it until shutdown.
//   - both roles in one process: the local hypervisor and cache as today
//     (no agent needed), or the two sides above over the same database.
package hostrpc
