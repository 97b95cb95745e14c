#!/usr/bin/env bash
# The "Proof" topology of issue 17 on one machine (doc/topology.md):
#
#   HAProxy      $TOPO_VIP (127.0.0.10): identity :5000, image :9292, compute :8774,
#                network :9696 -> 3 API replicas; Galera :3310 -> 3311-3313 (one
#                writer, the others backups); S3 :9300 -> MinIO 9301-9304; stats :8404
#   API replicas api-1..3 on 127.0.0.11-13 (same ports as the frontends), roles [api]
#   Galera       3 mariadbd (wsrep, galera-4) on 127.0.0.1:3311-3313, gcomm 4571-4573
#   MinIO        4 server processes on 127.0.0.1:9301-9304, one drive each (erasure, EC:2)
#   compute      host-a, host-b on 127.0.0.21-22, roles [compute], each with its own
#                libvirtd + virtlogd in a private mount namespace (own /run/libvirt,
#                /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt, /etc/libvirt)
#
# Every address is a loopback one; nothing touches the machine's own MariaDB
# (:3306), MinIO or libvirtd (qemu:///system), which the rest of the suite uses.
#
#   topology.sh start          start whatever is not running (idempotent); prints exports
#   topology.sh stop           stop everything it started, remove $TOPO_DIR
#   topology.sh env            print exports describing the endpoints
#   topology.sh status         one line per component
#   topology.sh kill NAME [SIG]  signal one component (api-1, host-a, galera-2, minio-4,
#                              haproxy, libvirt-a...) and wait until it is gone (TERM/KILL)
#
# Knobs: TOPO_DIR (/tmp/imagestack-topo), IMAGESTACK_BIN (default: build bin/imagestack),
# TOPO_COMPUTE (1: start the libvirtds and compute hosts; 0: APIs only),
# TOPO_CHECK_PATH (/healthcheck: HAProxy's HTTP check; a TCP check for an API
# whose replica does not answer 200 there), IMAGESTACK_TOOLS (MinIO, as test-env.sh).
# Progress goes to stderr; stdout carries only export lines.
set -uo pipefail
export LC_ALL=C
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOPO_DIR=${TOPO_DIR:-/tmp/imagestack-topo}
VIP=${TOPO_VIP:-127.0.0.10}
CHECK_PATH=${TOPO_CHECK_PATH:-/healthcheck}
COMPUTE=${TOPO_COMPUTE:-1}
# Short cluster timings, so that faults show within seconds: a replica's or
# host's work is recovered once its lease expired, a host is down after
# service_down_time without a heartbeat.
LEASE_TTL=${TOPO_LEASE_TTL:-6s}
HEARTBEAT=${TOPO_HEARTBEAT:-2s}
DOWN_TIME=${TOPO_DOWN_TIME:-10s}
TOOLS=${IMAGESTACK_TOOLS:-/var/cache/imagestack/tools}
MINIO_BIN=$TOOLS/bin/minio
S3_USER=imagestack
S3_PASSWORD=imagestack-secret
BUCKET=images

APIS=(api-1 api-2 api-3)
declare -A IP=([api-1]=127.0.0.11 [api-2]=127.0.0.12 [api-3]=127.0.0.13 [host-a]=127.0.0.21 [host-b]=127.0.0.22)
HOSTS=(host-a host-b)
declare -A PORT=([identity]=5000 [image]=9292 [compute]=8774 [network]=9696)
GALERA_FRONT=3310
S3_FRONT=9300
STATS_PORT=8404

log() { printf 'topology: %s\n' "$*" >&2; }
die() {
	log "ERROR: $*"
	exit 1
}

# wait_for SECONDS COMMAND...: retry COMMAND every 0.3 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.3
	done
}

# --- processes ---------------------------------------------------------------
# Each component NAME has $TOPO_DIR/NAME/pid. It is alive when that process
# exists and its command line names $TOPO_DIR (so a reused pid is never ours).
pidof_comp() { cat "$TOPO_DIR/$1/pid" 2>/dev/null | head -n1; }
alive() {
	local pid
	pid=$(pidof_comp "$1")
	[ -n "$pid" ] && { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF "$TOPO_DIR"
}

# spawn NAME COMMAND...: run COMMAND in its own session, output to NAME/out.log.
spawn() {
	local name=$1
	shift
	mkdir -p "$TOPO_DIR/$name"
	setsid nohup "$@" >>"$TOPO_DIR/$name/out.log" 2>&1 </dev/null 9>&- &
	echo $! >"$TOPO_DIR/$name/pid"
}

# halt NAME [SIGNAL]: signal the component and, for TERM, INT or KILL, wait
# until it is gone (KILL after $HALT_WAIT s). Nothing happens to one that is
# not alive.
HALT_WAIT=30
halt() {
	local name=$1 sig=${2:-TERM} pid
	alive "$name" || return 0
	pid=$(pidof_comp "$name")
	[ -n "${TOPO_DEBUG:-}" ] && log "$name: SIG$sig to $pid"
	kill "-$sig" "$pid" 2>/dev/null
	case $sig in TERM | KILL | INT | 9 | 15) ;; *) return 0 ;; esac
	wait_for "$HALT_WAIT" sh -c "! kill -0 $pid" || {
		kill -KILL "$pid" 2>/dev/null
		wait_for 5 sh -c "! kill -0 $pid"
	}
}

# halt_all NAME...: halt them all at once.
halt_all() {
	local name
	for name in "$@"; do halt "$name" & done
	wait
}

# --- packages ----------------------------------------------------------------
apt_updated=0
apt_install() {
	[ "$(id -u)" = 0 ] || die "missing $* (run as root to install them)"
	log "installing $* (apt-get)"
	local made_policy=0 try
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		# No service may start from a postinst (no systemd here).
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
	fi
	for try in 1 2; do
		if [ "$try" = 2 ] || ! apt-cache show "$@" >/dev/null 2>&1; then
			[ "$apt_updated" = 0 ] && apt-get update -qq -o DPkg::Lock::Timeout=600 >&2
			apt_updated=1
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confold "$@" </dev/null >&2 && break
	done
	[ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
	local p
	for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || die "could not install $p"; done
}

ensure_packages() {
	local need=()
	[ -f /usr/lib/galera/libgalera_smm.so ] || need+=(galera-4)
	command -v haproxy >/dev/null || need+=(haproxy)
	command -v rsync >/dev/null || need+=(rsync) # Galera's state transfer
	command -v mariadb-install-db >/dev/null || need+=(mariadb-server mariadb-client)
	command -v unshare >/dev/null || need+=(util-linux)
	[ "${#need[@]}" = 0 ] || apt_install "${need[@]}"
	# MinIO (built at a pinned version), libvirt, QEMU and the openstack CLI
	# come from the suite's own engine script.
	if [ ! -x "$MINIO_BIN" ] || ! command -v openstack >/dev/null ||
		{ [ "$COMPUTE" = 1 ] && ! command -v libvirtd >/dev/null; }; then
		log "running scripts/test-env.sh for MinIO, libvirt and the openstack CLI"
		bash "$REPO/scripts/test-env.sh" >/dev/null 9>&- || die "scripts/test-env.sh failed"
	fi
}

# --- Galera ------------------------------------------------------------------
galera_sql() { mysql --protocol=tcp -h127.0.0.1 -P"$((3310 + $1))" -uroot -N -B -e "$2" 2>/dev/null; }
galera_status() { galera_sql "$1" "SHOW STATUS LIKE '$2'" | cut -f2; }
galera_ready() { [ "$(galera_status "$1" wsrep_ready)" = ON ]; }
galera_size3() { [ "$(galera_status "$1" wsrep_cluster_size)" = 3 ] && galera_ready "$1"; }

galera_provider() { echo "base_host=127.0.0.1;base_port=$((4570 + $1));ist.recv_addr=127.0.0.1:$((4580 + $1));gcache.size=32M"; }

galera_cnf() {
	local i=$1 d=$TOPO_DIR/galera-$1
	cat <<-EOF
		[mysqld]
		user=mysql
		datadir=$d/data
		socket=$d/mysqld.sock
		pid-file=$d/mysqld.pid
		log-error=$d/error.log
		port=$((3310 + i))
		bind-address=127.0.0.1
		innodb_buffer_pool_size=64M
		innodb_log_file_size=32M
		innodb_flush_log_at_trx_commit=2
		performance_schema=OFF
		max_connections=300
		binlog_format=ROW
		default_storage_engine=InnoDB
		innodb_autoinc_lock_mode=2
		wsrep_on=ON
		wsrep_provider=/usr/lib/galera/libgalera_smm.so
		wsrep_cluster_name=imagestack-topo
		wsrep_cluster_address=gcomm://127.0.0.1:4571,127.0.0.1:4572,127.0.0.1:4573
		wsrep_node_name=galera-$i
		wsrep_node_address=127.0.0.1:$((4570 + i))
		wsrep_provider_options="$(galera_provider "$i")"
		wsrep_sst_method=rsync
		wsrep_sst_receive_address=127.0.0.1:$((4590 + i))
	EOF
}

# galera_init: each node's directory and configuration. The first time,
# galera-1's data directory is made by mariadb-install-db, started once as a
# new cluster (to create the imagestack database and give the data a cluster
# state id) and stopped; nodes 2 and 3 get copies of it, and all three a saved
# primary view of the three of them (gvwstate.dat, as Galera keeps after a
# crash): started together, they form the primary component again with no
# state transfer (an rsync SST takes about 20 s a node).
galera_init() {
	local i d
	for i in 1 2 3; do
		d=$TOPO_DIR/galera-$i
		mkdir -p "$d"
		galera_cnf "$i" >"$d/my.cnf"
		chown mysql:mysql "$d"
	done
	d=$TOPO_DIR/galera-1
	[ -d "$d/data/mysql" ] && return
	rm -rf "$d/data" "$TOPO_DIR"/galera-[23]/data
	mariadb-install-db --no-defaults --user=mysql --datadir="$d/data" --auth-root-authentication-method=normal \
		--skip-test-db >"$d/install-db.log" 2>&1 </dev/null || die "mariadb-install-db failed (see $d/install-db.log)"
	galera_spawn 1 --wsrep-new-cluster
	wait_for 60 galera_ready 1 || die "galera-1 did not start (see $d/error.log)"
	galera_sql 1 "CREATE DATABASE IF NOT EXISTS imagestack" || die "could not create the imagestack database"
	halt galera-1
	local uuids=()
	for i in 1 2 3; do uuids+=("$(cat /proc/sys/kernel/random/uuid)"); done
	for i in 1 2 3; do
		[ "$i" = 1 ] || cp -a "$d/data" "$TOPO_DIR/galera-$i/data"
		{
			printf 'my_uuid: %s\n#vwbeg\nview_id: 3 %s 1\nbootstrap: 0\n' "${uuids[i - 1]}" "${uuids[0]}"
			printf 'member: %s 0\n' "${uuids[@]}"
			printf '#vwend\n'
		} >"$TOPO_DIR/galera-$i/data/gvwstate.dat"
		chown mysql:mysql "$TOPO_DIR/galera-$i/data/gvwstate.dat"
	done
}

galera_spawn() {
	local i=$1
	shift
	spawn "galera-$i" /usr/sbin/mariadbd --defaults-file="$TOPO_DIR/galera-$i/my.cnf" "$@"
}

# galera_start: nodes not running are started. With none running, all three
# start together when each has a saved primary view (see galera_init);
# otherwise galera-1 bootstraps a new primary component (after a full stop
# it is marked safe to) and the others join it (IST, or SST).
galera_start() {
	local i up=()
	for i in 1 2 3; do alive "galera-$i" && up+=("$i"); done
	if [ "${#up[@]}" = 0 ]; then
		galera_init
		log "Galera: 3 nodes on 127.0.0.1:3311-3313 (gcomm 4571-4573)"
		if ! ls "$TOPO_DIR"/galera-{1,2,3}/data/gvwstate.dat >/dev/null 2>&1; then
			sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "$TOPO_DIR/galera-1/data/grastate.dat"
			galera_spawn 1 --wsrep-new-cluster
			wait_for 60 galera_ready 1 || die "galera-1 did not start (see $TOPO_DIR/galera-1/error.log)"
		fi
		up=(1)
	fi
	for i in 1 2 3; do
		alive "galera-$i" && continue
		galera_spawn "$i"
	done
	for i in 1 2 3; do
		wait_for 120 galera_ready "$i" || die "galera-$i is not ready (see $TOPO_DIR/galera-$i/error.log)"
	done
	wait_for 60 galera_size3 "${up[0]}" || die "the Galera cluster did not reach 3 nodes"
}

# --- MinIO -------------------------------------------------------------------
minio_endpoints() {
	local i
	for i in 1 2 3 4; do printf 'http://127.0.0.1:%d%s ' "$((9300 + i))" "$TOPO_DIR/minio-$i/drive"; done
}
minio_auth() {
	[ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 \
		-u "$S3_USER:$S3_PASSWORD" "http://127.0.0.1:$1/")" = 200 ]
}
minio_bucket() {
	local code
	code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' -X PUT --aws-sigv4 aws:amz:us-east-1:s3 \
		-u "$S3_USER:$S3_PASSWORD" "http://127.0.0.1:9301/$BUCKET")
	[ "$code" = 200 ] || [ "$code" = 409 ]
}

minio_start() {
	local i started=0
	for i in 1 2 3 4; do
		alive "minio-$i" && continue
		mkdir -p "$TOPO_DIR/minio-$i/drive"
		# In a container (/.dockerenv) MinIO waits for a loopback endpoint to
		# resolve elsewhere unless _MINIO_SERVER_LOCAL names its own.
		# shellcheck disable=SC2046 # the endpoints are one word each
		MINIO_ROOT_USER=$S3_USER MINIO_ROOT_PASSWORD=$S3_PASSWORD MINIO_CI_CD=1 MINIO_BROWSER=off \
			_MINIO_SERVER_LOCAL=127.0.0.1:$((9300 + i)) \
			spawn "minio-$i" "$MINIO_BIN" server --address "127.0.0.1:$((9300 + i))" \
			--console-address "127.0.0.1:$((9400 + i))" $(minio_endpoints)
		started=1
	done
	[ "$started" = 1 ] && log "MinIO: 4 servers on 127.0.0.1:9301-9304, one drive each"
	# Answering is not enough: wait until each accepts our credentials (a
	# signed ListBuckets), which it does once the drives formed their set.
	for i in 1 2 3 4; do
		wait_for 90 minio_auth "$((9300 + i))" || die "MinIO on 127.0.0.1:$((9300 + i)) does not accept its credentials (see $TOPO_DIR/minio-$i/out.log)"
	done
	wait_for 30 minio_bucket || die "could not create the bucket $BUCKET"
}

# --- HAProxy -----------------------------------------------------------------
# haproxy_backend NAME: the backend of one API, with an HTTP check on
# CHECK_PATH when api-1 answers 200 there, else a TCP check.
haproxy_backend() {
	local api=$1 port=${PORT[$1]} r
	printf 'frontend %s\n\tbind %s:%s\n\tdefault_backend %s\n' "$api" "$VIP" "$port" "$api"
	printf 'backend %s\n\tbalance roundrobin\n\tretry-on conn-failure empty-response response-timeout\n' "$api"
	if [ "$(cat "$TOPO_DIR/haproxy/check-$api" 2>/dev/null)" = http ]; then
		printf '\toption httpchk GET %s\n\thttp-check expect status 200\n' "$CHECK_PATH"
	fi
	for r in "${APIS[@]}"; do printf '\tserver %s %s:%s check\n' "$r" "${IP[$r]}" "$port"; done
}

haproxy_cfg() {
	local i api
	cat <<-EOF
		global
			maxconn 4000
			stats socket $TOPO_DIR/haproxy/admin.sock mode 600 level admin
		defaults
			mode http
			option redispatch 1
			retries 3
			timeout connect 2s
			# Long uploads and downloads: only a silent peer times out.
			timeout client 10m
			timeout server 10m
			timeout http-request 60s
			timeout queue 30s
			timeout check 2s
			default-server inter 1s fall 2 rise 2
		listen stats
			bind $VIP:$STATS_PORT
			stats enable
			stats uri /stats
		listen galera
			bind $VIP:$GALERA_FRONT
			mode tcp
			option tcpka
			timeout client 1h
			timeout server 1h
			# One writer at a time (no certification conflicts between
			# writers); a backup takes over when it fails its check, and
			# the connections to a node marked down are closed at once.
			default-server on-marked-down shutdown-sessions
	EOF
	printf '\tserver galera-1 127.0.0.1:3311 check\n'
	for i in 2 3; do printf '\tserver galera-%d 127.0.0.1:%d check backup\n' "$i" "$((3310 + i))"; done
	printf 'listen s3\n\tbind %s:%s\n\tbalance leastconn\n\toption httpchk GET /minio/health/live\n' "$VIP" "$S3_FRONT"
	printf '\tretry-on conn-failure empty-response\n'
	for i in 1 2 3 4; do printf '\tserver minio-%d 127.0.0.1:%d check\n' "$i" "$((9300 + i))"; done
	for api in identity image compute network; do haproxy_backend "$api"; done
}

# haproxy_start: (re)write the configuration; start HAProxy, or reload it
# (a new process takes over the ports) when its configuration changed.
haproxy_start() {
	local d=$TOPO_DIR/haproxy cfg=$TOPO_DIR/haproxy/haproxy.cfg
	mkdir -p "$d"
	haproxy_cfg >"$cfg.new"
	haproxy -c -q -f "$cfg.new" >&2 || die "bad HAProxy configuration $cfg.new"
	if alive haproxy && cmp -s "$cfg" "$cfg.new"; then
		rm -f "$cfg.new"
		return
	fi
	mv "$cfg.new" "$cfg"
	local old=()
	alive haproxy && old=(-sf "$(pidof_comp haproxy)")
	log "HAProxy on $VIP${old:+ (reloaded)}"
	spawn haproxy haproxy -db -f "$cfg" "${old[@]}"
	wait_for 10 curl -sf -o /dev/null "http://$VIP:$STATS_PORT/stats" || die "HAProxy did not start (see $d/out.log)"
}

# --- libvirt hosts -----------------------------------------------------------
libvirt_uri() { echo "qemu+unix:///system?socket=$TOPO_DIR/libvirt-${1#host-}/run/libvirt-sock"; }

# libvirt_start X: libvirtd and virtlogd for host-X in a private mount
# namespace, where bind mounts give them their own /run/libvirt (sockets),
# /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and /etc/libvirt
# (no domain of the system's libvirtd, nor of the other host).
libvirt_start() {
	local x=$1 d=$TOPO_DIR/libvirt-$1 sub
	alive "libvirt-$x" && return
	mkdir -p "$d"/{run,lib,cache,log,etc} /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
	if [ ! -e "$d/etc/libvirtd.conf" ]; then
		cp -a /etc/libvirt/. "$d/etc/"
		# Only the configuration: no domain, network, pool or secret of the system's.
		rm -rf "$d"/etc/qemu/*.xml "$d"/etc/qemu/autostart "$d"/etc/qemu/networks/autostart \
			"$d"/etc/storage/autostart "$d"/etc/secrets
		# QEMU's probed capabilities: the same binaries, no second probe.
		cp -a /var/cache/libvirt/. "$d/cache/" 2>/dev/null
	fi
	local mounts=""
	for sub in run:/run/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt etc:/etc/libvirt; do
		mounts+="mount --bind '$d/${sub%%:*}' '${sub#*:}' && "
	done
	spawn "libvirt-$x" unshare -m --propagation private -- sh -c \
		"${mounts}virtlogd -d -p '$d/virtlogd.pid' && exec libvirtd -p '$d/libvirtd.pid'"
	wait_for 60 virsh -c "$(libvirt_uri "host-$x")" version ||
		die "libvirtd of host-$x did not answer (see $d/out.log)"
	readlink "/proc/$(pidof_comp "libvirt-$x")/ns/mnt" >"$d/mntns"
}

# libvirt_stop X: its domains destroyed and undefined, then every process
# of its mount namespace (libvirtd, virtlogd, a QEMU left over) ended.
libvirt_stop() {
	local x=$1 d=$TOPO_DIR/libvirt-$1 uri dom ns p
	uri=$(libvirt_uri "host-$x")
	if alive "libvirt-$x"; then
		for dom in $(timeout 20 virsh -c "$uri" list --all --name 2>/dev/null); do
			timeout 20 virsh -c "$uri" destroy "$dom" >/dev/null 2>&1
			timeout 20 virsh -c "$uri" undefine --nvram "$dom" >/dev/null 2>&1 ||
				timeout 20 virsh -c "$uri" undefine "$dom" >/dev/null 2>&1
		done
	fi
	# With no domain left, nothing is lost by not waiting for a slow exit.
	HALT_WAIT=3 halt "libvirt-$x"
	ns=$(cat "$d/mntns" 2>/dev/null) || return 0
	ps -e -o pid=,mntns= | awk -v ns="${ns//[^0-9]/}" '$2 == ns {print $1}' | xargs -r kill -KILL 2>/dev/null
	return 0
}

# --- imagestack --------------------------------------------------------------
build_bin() {
	if [ -n "${IMAGESTACK_BIN:-}" ]; then
		BIN=$IMAGESTACK_BIN
		return
	fi
	BIN=$REPO/bin/imagestack
	log "building $BIN"
	(cd "$REPO" && go build -o bin/imagestack ./cmd/imagestack) >&2 || die "go build failed"
}

# member_cfg NAME ROLE: the configuration of one imagestack process.
member_cfg() {
	local name=$1 role=$2 ip=${IP[$1]} uri console=""
	uri="qemu+unix:///system?socket=$TOPO_DIR/$name/no-libvirt" # an API replica has no hypervisor
	if [ "$role" = compute ]; then
		uri=$(libvirt_uri "$name")
		console=$ip:6080
	fi
	cat <<-EOF
		state_dir: $TOPO_DIR/$name
		roles: [$role]
		cluster: {member_name: $name, lease_ttl: $LEASE_TTL, heartbeat_interval: $HEARTBEAT, service_down_time: $DOWN_TIME}
		database: {dsn: "mysql://root:@tcp($VIP:$GALERA_FRONT)/imagestack"}
		identity: {listen: "$ip:${PORT[identity]}", public_url: "http://$VIP:${PORT[identity]}"}
		image:
		  listen: "$ip:${PORT[image]}"
		  public_url: "http://$VIP:${PORT[image]}"
		  store: s3
		  s3: {endpoint: "$VIP:$S3_FRONT", bucket: $BUCKET, access_key: $S3_USER, secret_key: $S3_PASSWORD,
		       region: us-east-1, create_bucket: true}
		  # web-download may fetch from loopback servers (the tests' own)
		  web_download: {allowed_networks: ["127.0.0.0/8"]}
		compute:
		  listen: "$ip:${PORT[compute]}"
		  public_url: "http://$VIP:${PORT[compute]}"
		  host: $name
		  libvirt_uri: "$uri"
		  virt_type: $([ -e /dev/kvm ] && echo auto || echo qemu)
		  console: {listen: "$console"}
		network:
		  listen: "$ip:${PORT[network]}"
		  public_url: "http://$VIP:${PORT[network]}"
		  default_network: {name: ""}   # no bridge or namespace per member
		metrics: {listen: "$ip:9180"}
		policy: {file: ""}
		log: {format: json, level: info}
	EOF
}

member_spawn() {
	local name=$1 role=$2 d=$TOPO_DIR/$1
	mkdir -p "$d" "$TOPO_DIR/staging"
	member_cfg "$name" "$role" >"$d/imagestack.yaml"
	# One staging area for all (a shared filesystem): data staged through
	# one replica is imported by whichever replica the import request
	# reaches, and recovered by any.
	[ -L "$d/staging" ] || ln -s "$TOPO_DIR/staging" "$d/staging"
	# The same bootstrap passwords everywhere: one clouds.yaml for the deployment.
	cp "$TOPO_DIR/bootstrap-passwords.json" "$d/bootstrap-passwords.json"
	spawn "$name" "$BIN" -config "$d/imagestack.yaml"
}

http_ok() { [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$1")" = 200 ]; }
api_ready() { http_ok "http://${IP[$1]}:${PORT[identity]}/v3" && http_ok "http://${IP[$1]}:${PORT[image]}/healthcheck"; }
compute_ready() { grep -q '"libvirt connected"\|"listening"' "$TOPO_DIR/$1/out.log" 2>/dev/null; }

# wait_member NAME READY: READY holds, or the process died (an error).
wait_member() {
	local name=$1 ready=$2 deadline=$((SECONDS + 90))
	until "$ready" "$name"; do
		alive "$name" || die "$name exited (see $TOPO_DIR/$name/out.log)"
		[ "$SECONDS" -ge "$deadline" ] && die "$name not ready in 90 s (see $TOPO_DIR/$name/out.log)"
		sleep 0.3
	done
}

# probe_checks: which APIs answer 200 on CHECK_PATH (api-1 asked): those get
# HAProxy's HTTP check, the others a TCP check.
probe_checks() {
	local api
	for api in "${!PORT[@]}"; do
		if http_ok "http://${IP[api-1]}:${PORT[$api]}$CHECK_PATH"; then echo http; else echo tcp; fi \
			>"$TOPO_DIR/haproxy/check-$api"
	done
}

apis_start() {
	[ -f "$TOPO_DIR/bootstrap-passwords.json" ] ||
		printf '{"admin": "%s", "demo": "%s"}\n' "$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')" \
			"$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')" >"$TOPO_DIR/bootstrap-passwords.json"
	chmod 600 "$TOPO_DIR/bootstrap-passwords.json"
	local r
	# api-1 alone first: it migrates the schema and bootstraps identity.
	if ! alive api-1; then
		log "starting api-1 (${IP[api-1]})"
		member_spawn api-1 api
	fi
	wait_member api-1 api_ready
	probe_checks
	haproxy_start
	for r in api-2 api-3; do
		alive "$r" && continue
		log "starting $r (${IP[$r]})"
		member_spawn "$r" api
	done
	for r in api-2 api-3; do wait_member "$r" api_ready; done
	cp "$TOPO_DIR/api-1/clouds.yaml" "$TOPO_DIR/clouds.yaml"
}

computes_start() {
	local h
	for h in "${HOSTS[@]}"; do
		libvirt_start "${h#host-}"
		alive "$h" && continue
		log "starting compute host $h (${IP[$h]}, $(libvirt_uri "$h"))"
		member_spawn "$h" compute
	done
	for h in "${HOSTS[@]}"; do wait_member "$h" compute_ready; done
}

# --- subcommands -------------------------------------------------------------
print_env() {
	local h uris=""
	for h in "${HOSTS[@]}"; do uris+="$h=$(libvirt_uri "$h") "; done
	cat <<-EOF
		export TOPO_DIR='$TOPO_DIR'
		export OS_CLIENT_CONFIG_FILE='$TOPO_DIR/clouds.yaml'
		export TOPO_IDENTITY_URL='http://$VIP:${PORT[identity]}'
		export TOPO_IMAGE_URL='http://$VIP:${PORT[image]}'
		export TOPO_COMPUTE_URL='http://$VIP:${PORT[compute]}'
		export TOPO_NETWORK_URL='http://$VIP:${PORT[network]}'
		export TOPO_STATS_URL='http://$VIP:$STATS_PORT/stats'
		export TOPO_MYSQL_DSN='root:@tcp($VIP:$GALERA_FRONT)/imagestack?parseTime=true'
		export TOPO_GALERA_NODES='127.0.0.1:3311 127.0.0.1:3312 127.0.0.1:3313'
		export TOPO_S3_ENDPOINT='$VIP:$S3_FRONT'
		export TOPO_S3_BUCKET='$BUCKET'
		export TOPO_S3_ACCESS_KEY='$S3_USER'
		export TOPO_S3_SECRET_KEY='$S3_PASSWORD'
		export TOPO_MINIO_NODES='127.0.0.1:9301 127.0.0.1:9302 127.0.0.1:9303 127.0.0.1:9304'
		export TOPO_API_REPLICAS='api-1=${IP[api-1]} api-2=${IP[api-2]} api-3=${IP[api-3]}'
		export TOPO_LIBVIRT_URIS='${uris% }'
	EOF
}

components() {
	echo "${APIS[@]} ${HOSTS[@]} haproxy galera-1 galera-2 galera-3 minio-1 minio-2 minio-3 minio-4 libvirt-a libvirt-b"
}

cmd_status() {
	local c
	for c in $(components); do
		if alive "$c"; then echo "$c running (pid $(pidof_comp "$c"))"; else echo "$c stopped"; fi
	done
}

cmd_start() {
	[ "$(id -u)" = 0 ] || die "run as root (it starts libvirtd in mount namespaces)"
	local t0=$SECONDS
	ensure_packages
	build_bin
	galera_start
	minio_start
	# HAProxy first with what is known of the checks (the databases and S3
	# frontends are needed by the replicas); apis_start reloads it.
	mkdir -p "$TOPO_DIR/haproxy"
	haproxy_start
	apis_start
	[ "$COMPUTE" = 1 ] && computes_start
	log "topology up in $((SECONDS - t0)) s"
	print_env
}

cmd_stop() {
	local c
	halt_all "${HOSTS[@]}" "${APIS[@]}"
	libvirt_stop a &
	libvirt_stop b &
	wait
	halt_all haproxy minio-1 minio-2 minio-3 minio-4 galera-1 galera-2 galera-3
	for c in $(components); do
		alive "$c" && die "$c (pid $(pidof_comp "$c")) is still running"
	done
	case $TOPO_DIR in /tmp/?* | /var/tmp/?* | "$REPO"/var/?*) rm -rf "$TOPO_DIR" "$TOPO_DIR.lock" ;; *) log "keeping $TOPO_DIR (not under /tmp or var/)" ;; esac
	log "stopped"
}

mkdir -p "$TOPO_DIR" && chmod 755 "$TOPO_DIR"
case ${1:-} in
start | stop)
	# One start or stop at a time.
	exec 9>>"$TOPO_DIR.lock"
	flock -w 600 9 || die "another topology.sh holds $TOPO_DIR.lock"
	"cmd_$1"
	;;
env) print_env ;;
status) cmd_status ;;
kill)
	[ -n "${2:-}" ] || die "usage: topology.sh kill NAME [SIGNAL]"
	if [[ $2 == libvirt-? ]]; then libvirt_stop "${2#libvirt-}"; else halt "$2" "${3:-TERM}"; fi
	;;
*)
	echo "usage: topology.sh start|stop|env|status|kill NAME [SIGNAL]" >&2
	exit 2
	;;
esac
