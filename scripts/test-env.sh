#!/usr/bin/env bash
# Makes sure every engine the test suite talks to is installed and running, then
# prints `export` lines describing them for `eval "$(bash scripts/test-env.sh)"`.
#
#   MariaDB      127.0.0.1:3306, root with an empty password
#   MinIO        127.0.0.1:$MINIO_PORT (built with `go install` at a pinned version)
#   libvirt      qemu:///system (libvirtd + virtlogd started without systemd)
#   openstack    Debian's python3-openstackclient, -glanceclient, -novaclient
#
# As root it installs and starts what is missing; it is idempotent and quick
# when everything already runs. As another user it installs nothing and only
# reports. Progress goes to stderr; stdout carries only the export lines.
# A component that cannot be made to work is an error (exit 1): the tests
# must never skip silently.
set -uo pipefail

MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c # github.com/minio/minio (AGPL: run as a separate process only)
TOOLS=${IMAGESTACK_TOOLS:-/var/cache/imagestack/tools}
MINIO_PORT=${MINIO_PORT:-19000}
MINIO_CONSOLE_PORT=${MINIO_CONSOLE_PORT:-19001}
MINIO_USER=imagestack
MINIO_PASSWORD=imagestack-secret
MINIO_DATA=${MINIO_DATA:-/tmp/imagestack-minio}
LIBVIRT_URI=qemu:///system

log() { printf 'test-env: %s\n' "$*" >&2; }
fail() { log "ERROR: $*"; failed=1; }
failed=0
root=0
[ "$(id -u)" = 0 ] && root=1

# wait_for SECONDS COMMAND...: retry COMMAND once a second until it succeeds.
wait_for() {
	local n=$1
	shift
	for _ in $(seq 1 "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}

apt_updated=0
# apt_install PKG...: install Debian packages, never starting their services.
apt_install() {
	if [ "$apt_updated" = 0 ] && ! apt-cache show "$1" >/dev/null 2>&1; then
		apt-get update -qq >&2 || true
		apt_updated=1
	fi
	log "installing $*"
	local guard=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		guard=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		-o Dpkg::Lock::Timeout=300 "$@" >&2
	local rc=$?
	if [ "$rc" != 0 ] && [ "$apt_updated" = 0 ]; then
		apt-get update -qq >&2 || true
		apt_updated=1
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			-o Dpkg::Lock::Timeout=300 "$@" >&2
		rc=$?
	fi
	[ "$guard" = 1 ] && rm -f /usr/sbin/policy-rc.d
	return $rc
}

# --- MariaDB ---------------------------------------------------------------
mysql_ok() { mysql -h127.0.0.1 -P3306 -uroot -e 'select 1' >/dev/null 2>&1; }
if ! mysql_ok; then
	if [ "$root" = 1 ]; then
		command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server mariadb-client ||
			fail "could not install mariadb-server"
		mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
		log "starting mariadbd"
		start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql >&2
		wait_for 60 mysql_ok || fail "MariaDB did not answer on 127.0.0.1:3306"
	else
		fail "MariaDB is not answering on 127.0.0.1:3306 (run as root to start it)"
	fi
fi

# --- MinIO -------------------------------------------------------------------
minio_bin=$TOOLS/bin/minio
minio_ok() { curl -sf "http://127.0.0.1:$MINIO_PORT/minio/health/live" >/dev/null; }
if ! minio_ok; then
	if [ "$(cat "$TOOLS/minio.version" 2>/dev/null)" != "$MINIO_VERSION" ] || [ ! -x "$minio_bin" ]; then
		if [ "$root" = 1 ] || [ -w "$(dirname "$TOOLS")" ]; then
			log "building MinIO $MINIO_VERSION into $TOOLS/bin (several minutes, once per machine)"
			mkdir -p "$TOOLS/bin"
			if (cd /tmp && GOBIN=$TOOLS/bin GOFLAGS= go install "github.com/minio/minio@$MINIO_VERSION") >&2; then
				echo "$MINIO_VERSION" >"$TOOLS/minio.version"
			else
				fail "go install of MinIO failed"
			fi
		else
			fail "MinIO is not installed in $TOOLS (run as root)"
		fi
	fi
	if [ -x "$minio_bin" ]; then
		mkdir -p "$MINIO_DATA"
		log "starting MinIO on 127.0.0.1:$MINIO_PORT (data in $MINIO_DATA)"
		MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_PASSWORD MINIO_BROWSER=off \
			setsid nohup "$minio_bin" server "$MINIO_DATA" --address "127.0.0.1:$MINIO_PORT" \
			--console-address "127.0.0.1:$MINIO_CONSOLE_PORT" >"$TOOLS/minio.log" 2>&1 </dev/null &
		wait_for 60 minio_ok || fail "MinIO did not become healthy (log: $TOOLS/minio.log)"
	fi
fi

# --- libvirt + QEMU ----------------------------------------------------------
virsh_ok() { virsh -c "$LIBVIRT_URI" version; }
if ! virsh_ok >/dev/null 2>&1; then
	if [ "$root" = 1 ]; then
		if ! command -v libvirtd >/dev/null || ! command -v qemu-system-x86_64 >/dev/null ||
			! command -v qemu-img >/dev/null || ! command -v virsh >/dev/null; then
			apt_install libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils ||
				fail "could not install libvirt and QEMU"
		fi
		conf=/etc/libvirt/qemu.conf
		if [ -f "$conf" ]; then
			# Without these, libvirt re-probes QEMU on every domain start (about 50 s here).
			grep -qE '^user = "root"' "$conf" || echo 'user = "root"' >>"$conf"
			grep -qE '^group = "root"' "$conf" || echo 'group = "root"' >>"$conf"
		fi
		pgrep -x virtlogd >/dev/null || virtlogd -d
		pgrep -x libvirtd >/dev/null || libvirtd -d
		wait_for 60 virsh_ok || fail "libvirtd did not answer on $LIBVIRT_URI"
	else
		fail "libvirtd is not answering on $LIBVIRT_URI (run as root to start it)"
	fi
fi

# --- OpenStack clients -------------------------------------------------------
if ! command -v openstack >/dev/null || ! command -v glance >/dev/null || ! command -v nova >/dev/null; then
	if [ "$root" = 1 ]; then
		apt_install python3-openstackclient python3-glanceclient python3-novaclient ||
			fail "could not install the openstack clients"
	else
		fail "the openstack, glance and nova CLIs are missing (run as root to install them)"
	fi
fi

if [ "$failed" != 0 ] && [ "$root" = 1 ]; then
	log "some engines are not available; see the errors above"
	exit 1
fi

echo "export TEST_MYSQL_DSN='root:@tcp(127.0.0.1:3306)/?parseTime=true'"
echo "export TEST_MINIO_ENDPOINT=127.0.0.1:$MINIO_PORT"
echo "export TEST_MINIO_ACCESS_KEY=$MINIO_USER"
echo "export TEST_MINIO_SECRET_KEY=$MINIO_PASSWORD"
echo "export TEST_LIBVIRT_URI=$LIBVIRT_URI"
echo "export PATH=\"$TOOLS/bin:\$PATH\""
