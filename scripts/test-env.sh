#!/usr/bin/env bash
# Makes sure every engine the test suite talks to is installed and running, then
# prints `export` lines describing them for `eval "$(bash scripts/test-env.sh)"`.
#
#   MariaDB      127.0.0.1:3306, root with an empty password
#   MinIO        127.0.0.1:$MINIO_PORT (built with `go install` at a pinned version)
#   libvirt      qemu:///system (libvirtd + virtlogd started without systemd)
#   openstack    Debian's python3-openstackclient, -glanceclient, -novaclient
#   genisoimage  builds the ISO images glance/diskformat's tests inspect, and config drives
#   guest tools  dnsmasq, dnsmasq-utils (DHCP in network namespaces), busybox-static and
#                linux-image-amd64 (the Linux test guest), noVNC (console
#                pages), Horizon and Chromium (the browser test)
#
# As root it installs and starts what is missing; it is idempotent and quick
# (well under a second) when everything already runs. As another user it
# installs and starts nothing: it prints exports only for what works and warns
# about the rest. Progress goes to stderr; stdout carries only export lines.
#
# As root, an engine that cannot be made to work is an error: the script exits 1
# and its stdout is a single `false` line, so that the Makefile's
# `set -e; eval "$(bash scripts/test-env.sh)"` stops too (eval of an empty
# string would succeed and the tests would run without their engines).
#
# Environment knobs: IMAGESTACK_TOOLS (default /var/cache/imagestack/tools),
# MINIO_PORT (19000), MINIO_CONSOLE_PORT (19001), MINIO_DATA
# (/tmp/imagestack-minio), TEST_MINIO_ACCESS_KEY / TEST_MINIO_SECRET_KEY.
set -uo pipefail

# github.com/minio/minio publishes no semver tags; this pseudo-version is the
# newest the Go module proxy serves (`go list -m github.com/minio/minio@latest`,
# commit 7aac2a2c5b7c of 2026-02-12) and builds with Go 1.26. MinIO is AGPL: it
# is only ever run as a separate server process, never imported.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
TOOLS=${IMAGESTACK_TOOLS:-/var/cache/imagestack/tools}
MINIO_PORT=${MINIO_PORT:-19000}
MINIO_CONSOLE_PORT=${MINIO_CONSOLE_PORT:-19001}
MINIO_DATA=${MINIO_DATA:-/tmp/imagestack-minio}
MINIO_USER=${TEST_MINIO_ACCESS_KEY:-imagestack}
MINIO_PASSWORD=${TEST_MINIO_SECRET_KEY:-imagestack-secret}
MYSQL_DSN='root:@tcp(127.0.0.1:3306)/?parseTime=true&charset=utf8mb4'
LIBVIRT_URI=qemu:///system
QEMU_CONF=/etc/libvirt/qemu.conf

export LC_ALL=C
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin

log() { printf 'test-env: %s\n' "$*" >&2; }
failed=()
fail() {
	if [ "$root" = 1 ]; then log "ERROR: $1: $2"; else log "WARNING: $1: $2"; fi
	failed+=("$1")
}
has_failed() { [[ " ${failed[*]} " == *" $1 "* ]]; }
root=0
[ "$(id -u)" = 0 ] && root=1

# wait_for SECONDS COMMAND...: retry COMMAND twice a second until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.5
	done
}

# One run at a time: two `make test` started together must not both build
# MinIO or start a second daemon. Every daemon is started with `9>&-`: one that
# inherited the lock would hold it for its whole life and block later runs.
if [ "$root" = 1 ]; then
	mkdir -p /run/lock
	lockfile=/run/lock/imagestack-test-env.lock
else
	lockfile=${TMPDIR:-/tmp}/imagestack-test-env.$(id -u).lock
fi
exec 9>>"$lockfile"
if ! flock -n 9; then
	log "waiting for another test-env.sh run to finish ($lockfile)"
	flock -w 1800 9 || {
		log "ERROR: timed out waiting for $lockfile"
		echo false
		exit 1
	}
fi

# --- Debian packages ---------------------------------------------------------
policy_rc_created=0
# shellcheck disable=SC2317 # invoked by the traps
cleanup() { if [ "$policy_rc_created" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# apt_wait: wait (up to 15 min) while another apt/dpkg, e.g. a background
# `apt-get install`, holds the package locks.
apt_wait() {
	local locks=(/var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock)
	local deadline=$((SECONDS + 900)) said=0
	while fuser "${locks[@]}" >/dev/null 2>&1; do
		[ "$said" = 0 ] && log "waiting for another apt/dpkg to release its locks" && said=1
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 2
	done
	return 0
}

apt_updated=0
# apt_install PKG...: install Debian packages without starting their services
# (there is no systemd here: a policy-rc.d answering 101 makes invoke-rc.d skip
# every start, so postinst scripts do not fail).
apt_install() {
	log "installing $* (apt-get)"
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# written by imagestack scripts/test-env.sh while it installs packages\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		policy_rc_created=1
	fi
	local try rc=1
	for try in 1 2; do
		if [ "$try" = 2 ] || ! apt-cache show "$@" >/dev/null 2>&1; then
			if [ "$apt_updated" = 0 ]; then
				apt_wait
				apt-get update -qq -o DPkg::Lock::Timeout=600 >&2 || true
				apt_updated=1
			fi
		fi
		apt_wait
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
			"$@" </dev/null >&2
		rc=$?
		[ "$rc" = 0 ] && break
		# A half-configured package from an earlier, interrupted run.
		DEBIAN_FRONTEND=noninteractive dpkg --configure -a </dev/null >&2 || true
	done
	if [ "$policy_rc_created" = 1 ]; then
		rm -f /usr/sbin/policy-rc.d
		policy_rc_created=0
	fi
	return "$rc"
}

# running NAME PIDFILE: is a process called NAME alive (per its pidfile or by name)?
running() {
	local pid
	pid=$(cat "$2" 2>/dev/null) || pid=
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]; then
		return 0
	fi
	pgrep -x "$1" >/dev/null
}

# --- MariaDB -----------------------------------------------------------------
mysql_ok() { mysql --protocol=tcp -h127.0.0.1 -P3306 -uroot -e 'select 1' >/dev/null 2>&1; }
mysql_alive() { mysqladmin --protocol=tcp -h127.0.0.1 -P3306 -uroot --connect-timeout=2 ping >/dev/null 2>&1; }
mysql_setup() {
	if [ "$root" = 0 ]; then
		fail MariaDB "MariaDB does not accept root with an empty password on 127.0.0.1:3306 (run as root to install/start it)"
		return
	fi
	local mariadbd=/usr/sbin/mariadbd
	[ -x "$mariadbd" ] || mariadbd=/usr/sbin/mysqld
	if [ ! -x "$mariadbd" ] || ! command -v mysql >/dev/null || ! command -v mysqladmin >/dev/null; then
		apt_install mariadb-server mariadb-client || {
			fail MariaDB "could not install mariadb-server"
			return
		}
		mariadbd=/usr/sbin/mariadbd
		[ -x "$mariadbd" ] || mariadbd=/usr/sbin/mysqld
	fi
	if ! mysql_alive; then
		local datadir
		datadir=$(my_print_defaults --mysqld 2>/dev/null | sed -n 's/^--datadir=//p' | tail -n1)
		datadir=${datadir:-/var/lib/mysql}
		if [ ! -d "$datadir/mysql" ]; then
			log "initialising the MariaDB data directory $datadir (log: /var/log/mysql/imagestack-install-db.log)"
			mkdir -p "$datadir" /var/log/mysql && chown mysql:mysql "$datadir"
			mariadb-install-db --user=mysql --datadir="$datadir" --auth-root-authentication-method=normal \
				--skip-test-db </dev/null >/var/log/mysql/imagestack-install-db.log 2>&1 || {
				tail -n 20 /var/log/mysql/imagestack-install-db.log >&2
				fail MariaDB "mariadb-install-db failed for $datadir"
				return
			}
		fi
		mkdir -p /run/mysqld /var/log/mysql
		chown mysql:mysql /run/mysqld
		chown mysql:adm /var/log/mysql 2>/dev/null || chown mysql /var/log/mysql
		log "starting $mariadbd (messages: /var/log/mysql/error.log or /var/log/mysql/imagestack-start.log)"
		start-stop-daemon --start --oknodo --background --output /var/log/mysql/imagestack-start.log \
			--exec "$mariadbd" -- --user=mysql --bind-address=127.0.0.1 --port=3306 >&2 9>&-
		wait_for 90 mysql_alive || {
			fail MariaDB "MariaDB did not answer on 127.0.0.1:3306 within 90 s (see /var/log/mysql/)"
			return
		}
	fi
	if ! mysql_ok; then
		# Debian's root@localhost authenticates through the unix socket only,
		# and without skip-name-resolve a TCP client from 127.0.0.1 is matched
		# as root@localhost; the tests connect over TCP with an empty password.
		log "allowing root with an empty password over TCP (root@localhost, root@127.0.0.1)"
		mysql --protocol=socket -uroot >&2 <<-'SQL' || true
			ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
			CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
			ALTER USER 'root'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('');
			GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
			FLUSH PRIVILEGES;
		SQL
		mysql_ok || fail MariaDB "MariaDB answers on 127.0.0.1:3306 but root cannot log in there with an empty password"
	fi
}
mysql_ok || mysql_setup

# --- MinIO -------------------------------------------------------------------
minio_bin=$TOOLS/bin/minio
minio_stamp=$TOOLS/minio.version
minio_log=$TOOLS/minio.log
minio_live() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$MINIO_PORT/minio/health/live")" = 200 ]; }
# minio_auth: does the server accept our credentials (a signed ListBuckets)?
minio_auth() {
	[ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 \
		-u "$MINIO_USER:$MINIO_PASSWORD" "http://127.0.0.1:$MINIO_PORT/")" = 200 ]
}
minio_setup() {
	if [ "$root" = 0 ]; then
		fail MinIO "MinIO is not answering on 127.0.0.1:$MINIO_PORT (run as root to build/start it)"
		return
	fi
	if [ ! -x "$minio_bin" ] || [ "$(cat "$minio_stamp" 2>/dev/null)" != "$MINIO_VERSION" ]; then
		command -v go >/dev/null || {
			fail MinIO "go is not on PATH; it is needed to build MinIO"
			return
		}
		log "building MinIO $MINIO_VERSION into $TOOLS/bin (several minutes, once per machine)"
		mkdir -p "$TOOLS/bin"
		rm -f "$minio_stamp"
		local t0=$SECONDS
		if (cd / && GOBIN=$TOOLS/bin GOFLAGS='' GOWORK=off GOTOOLCHAIN=local \
			go install "github.com/minio/minio@$MINIO_VERSION" </dev/null) >&2; then
			echo "$MINIO_VERSION" >"$minio_stamp"
			log "MinIO built in $((SECONDS - t0)) s"
		else
			fail MinIO "go install github.com/minio/minio@$MINIO_VERSION failed"
			return
		fi
	fi
	mkdir -p "$MINIO_DATA"
	log "starting MinIO on 127.0.0.1:$MINIO_PORT (data: $MINIO_DATA, log: $minio_log)"
	MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_PASSWORD \
		setsid -f nohup "$minio_bin" server "$MINIO_DATA" --address "127.0.0.1:$MINIO_PORT" \
		--console-address "127.0.0.1:$MINIO_CONSOLE_PORT" >>"$minio_log" 2>&1 </dev/null 9>&-
	wait_for 60 minio_live || {
		fail MinIO "MinIO did not become healthy on 127.0.0.1:$MINIO_PORT within 60 s (log: $minio_log)"
		return
	}
}
minio_live || minio_setup
# A MinIO that has just started answers its live probe before it accepts
# credentials (it is still loading its IAM state): wait for what is checked.
if ! has_failed MinIO && ! wait_for 60 minio_auth; then
	fail MinIO "the MinIO on 127.0.0.1:$MINIO_PORT rejects $MINIO_USER/$MINIO_PASSWORD (another server? set MINIO_PORT or TEST_MINIO_ACCESS_KEY/TEST_MINIO_SECRET_KEY)"
fi

# --- libvirt + QEMU ----------------------------------------------------------
virsh_ok() { virsh -c "$LIBVIRT_URI" version >/dev/null 2>&1; }

# qemu_conf_set KEY VALUE: make `KEY = "VALUE"` the active setting in qemu.conf,
# replacing an active line or else the commented default (`#KEY = ...`).
# Returns 0 when the file changed, 1 when it was already so, 2 on error.
qemu_conf_set() {
	local key=$1 line="$1 = \"$2\""
	grep -qxF "$line" "$QEMU_CONF" && ! grep -vxF "$line" "$QEMU_CONF" | grep -qE "^${key}[[:space:]]*=" && return 1
	local new
	if grep -qE "^${key}[[:space:]]*=" "$QEMU_CONF"; then
		new=$(sed -E "s|^${key}[[:space:]]*=.*|$line|" "$QEMU_CONF") || return 2
	elif grep -qE "^#${key}[[:space:]]*=" "$QEMU_CONF"; then
		new=$(sed -E "0,/^#${key}[[:space:]]*=/s|^#${key}[[:space:]]*=.*|$line|" "$QEMU_CONF") || return 2
	else
		new=$(cat "$QEMU_CONF") || return 2
		new+=$'\n'$line
	fi
	# Rewrite in place rather than `sed -i` (which renames a new file over the
	# old one, and fails when qemu.conf is a bind mount).
	printf '%s\n' "$new" >"$QEMU_CONF" || return 2
	grep -qxF "$line" "$QEMU_CONF" || return 2
	return 0
}

libvirt_setup() {
	local c
	for c in libvirtd virtlogd virsh qemu-system-x86_64 qemu-img; do
		command -v "$c" >/dev/null && continue
		apt_install libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils qemu-block-extra || {
			fail libvirt "could not install libvirt and QEMU"
			return
		}
		break
	done
	# QEMU's curl block driver: servers boot from a base still arriving
	# through it (compute.lazy_base).
	if ! ls /usr/lib/*/qemu/block-curl.so >/dev/null 2>&1; then
		apt_install qemu-block-extra || {
			fail libvirt "could not install qemu-block-extra (QEMU's curl block driver)"
			return
		}
	fi
	[ -f "$QEMU_CONF" ] || {
		fail libvirt "$QEMU_CONF is missing (libvirt-daemon-driver-qemu not installed?)"
		return
	}
	# QEMU runs as root: no chown of every image and no re-probe of QEMU on
	# each domain start.
	local changed=0 k rc
	for k in user group; do
		qemu_conf_set "$k" root
		rc=$?
		[ "$rc" = 0 ] && changed=1
		[ "$rc" = 2 ] && fail libvirt "could not set $k = \"root\" in $QEMU_CONF"
	done
	has_failed libvirt && return
	[ "$changed" = 1 ] && log "set user/group = \"root\" in $QEMU_CONF"
	if [ "$changed" = 1 ] && running libvirtd /run/libvirtd.pid; then
		log "restarting libvirtd to apply $QEMU_CONF"
		local pid
		pid=$(cat /run/libvirtd.pid 2>/dev/null || pgrep -xo libvirtd)
		kill "$pid" 2>/dev/null
		wait_for 30 sh -c "! kill -0 $pid" || {
			fail libvirt "libvirtd (pid $pid) did not stop"
			return
		}
	fi
	virsh_ok && return
	# No networks or pools are needed (domains are defined without NICs); do not
	# let libvirtd try to bring up the default NAT network (dnsmasq, iptables).
	rm -f /etc/libvirt/qemu/networks/autostart/default.xml
	mkdir -p /var/log/libvirt
	if ! running virtlogd /run/virtlogd.pid; then
		log "starting virtlogd"
		virtlogd -d </dev/null >>/var/log/libvirt/imagestack-start.log 2>&1 9>&- ||
			fail libvirt "virtlogd -d failed (see /var/log/libvirt/imagestack-start.log)"
	fi
	if ! running libvirtd /run/libvirtd.pid; then
		log "starting libvirtd"
		libvirtd -d </dev/null >>/var/log/libvirt/imagestack-start.log 2>&1 9>&- ||
			fail libvirt "libvirtd -d failed (see /var/log/libvirt/imagestack-start.log)"
	fi
	wait_for 120 virsh_ok || {
		fail libvirt "libvirtd did not answer on $LIBVIRT_URI within 120 s (see /var/log/libvirt/)"
		return
	}
	[ -e /dev/kvm ] || log "note: no /dev/kvm, QEMU will emulate (TCG) and be slow"
}
if [ "$root" = 1 ]; then
	libvirt_setup # cheap when all is well: a few greps and one virsh call
elif ! virsh_ok; then
	fail libvirt "cannot connect to $LIBVIRT_URI as $(id -un) (libvirtd not running, or this user may not use it; run as root to install/start it)"
fi

# --- OpenStack clients -------------------------------------------------------
clients_ok() { command -v openstack >/dev/null && command -v glance >/dev/null && command -v nova >/dev/null; }
if ! clients_ok; then
	if [ "$root" = 1 ]; then
		apt_install python3-openstackclient python3-glanceclient python3-novaclient ||
			fail clients "could not install the openstack, glance and nova clients"
		clients_ok || fail clients "the openstack, glance or nova command is still missing after installing them"
	else
		fail clients "the openstack, glance and nova CLIs are missing (run as root to install them)"
	fi
fi

# --- Image tools -------------------------------------------------------------
# qemu-img comes with libvirt above; glance/diskformat's tests also build ISOs.
if ! command -v genisoimage >/dev/null; then
	if [ "$root" = 1 ]; then
		apt_install genisoimage || fail genisoimage "could not install genisoimage"
	else
		fail genisoimage "genisoimage is missing (run as root to install it)"
	fi
fi

# --- Glance's standard metadata definitions --------------------------------
# /etc/glance/metadefs (glance-common): the server loads them on its first
# start, TestGlanceclientMetadefs and the Horizon metadata dialogs use them.
if [ ! -d /etc/glance/metadefs ]; then
	if [ "$root" = 1 ]; then
		apt_install glance-common || fail metadefs "could not install glance-common (/etc/glance/metadefs)"
	else
		fail metadefs "/etc/glance/metadefs is missing (run as root to install glance-common)"
	fi
fi

# --- Guest networking, config drives, Linux guests, consoles, browser --------
# dnsmasq and dhcp_release (DHCP in each network's namespace), the Linux test guest's kernel and
# busybox, noVNC's pages for the console proxy, Horizon and Chromium for the
# browser test.
guest_tools_ok() {
	command -v dnsmasq >/dev/null && command -v dhcp_release >/dev/null && command -v busybox >/dev/null &&
		ls /boot/vmlinuz-* >/dev/null 2>&1 && [ -f /usr/share/novnc/vnc.html ] &&
		command -v chromium >/dev/null && [ -d /usr/share/openstack-dashboard ] &&
		/usr/bin/python3 -c 'import memcache' 2>/dev/null
}
if ! guest_tools_ok; then
	if [ "$root" = 1 ]; then
		apt_install dnsmasq-base dnsmasq-utils busybox-static linux-image-amd64 novnc chromium openstack-dashboard python3-memcache ||
			fail guest-tools "could not install dnsmasq-base, busybox-static, linux-image-amd64, novnc, chromium, openstack-dashboard"
		guest_tools_ok || fail guest-tools "dnsmasq, busybox, a kernel in /boot, noVNC, chromium or Horizon still missing after installing them"
	else
		fail guest-tools "dnsmasq, busybox-static, linux-image-amd64, novnc, chromium or openstack-dashboard missing (run as root to install them)"
	fi
fi

# --- Output ------------------------------------------------------------------
if [ "$root" = 1 ] && [ "${#failed[@]}" != 0 ]; then
	log "FAILED: ${failed[*]} could not be made to work; see the errors above"
	echo false
	exit 1
fi
[ "${#failed[@]}" != 0 ] && log "WARNING: not available: ${failed[*]}; the tests that need them will fail"

has_failed MariaDB || echo "export TEST_MYSQL_DSN='$MYSQL_DSN'"
if ! has_failed MinIO; then
	echo "export TEST_MINIO_ENDPOINT='127.0.0.1:$MINIO_PORT'"
	echo "export TEST_MINIO_ACCESS_KEY='$MINIO_USER'"
	echo "export TEST_MINIO_SECRET_KEY='$MINIO_PASSWORD'"
fi
has_failed libvirt || echo "export TEST_LIBVIRT_URI='$LIBVIRT_URI'"
[ -d "$TOOLS/bin" ] && echo "export PATH='$TOOLS/bin':\"\$PATH\""
exit 0
