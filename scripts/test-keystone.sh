#!/usr/bin/env bash
# Makes sure a real Keystone (Debian's, 22 on bookworm) answers on
# http://127.0.0.1:15000/v3 for TestExternalKeystone (identity.mode external),
# with admin / adminpw in project admin (domain Default), and writes
# /tmp/real-openstack/clouds.yaml with the cloud "real-admin". Idempotent and
# quick when Keystone already answers (it then only rewrites clouds.yaml); it
# shares its layout and port with the maintainers' real-glance tool, so
# either may have started it. Needs root and MariaDB on 127.0.0.1:3306
# (scripts/test-env.sh starts it). The Keystone is left running, as the other
# engines are; stop it with: pkill -f /tmp/real-openstack/keystone-serve.py
set -eu
R=/tmp/real-openstack
write_clouds() {
	cat > $R/clouds.yaml <<YAML
clouds:
  real-admin:
    auth: {auth_url: "http://127.0.0.1:15000/v3", username: admin, password: adminpw, project_name: admin, user_domain_name: Default, project_domain_name: Default}
    region_name: RegionOne
    identity_api_version: 3
YAML
}
mkdir -p $R/fernet $R/cred
if curl -s -o /dev/null -m 5 http://127.0.0.1:15000/v3; then write_clouds; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "test-keystone: Keystone is not running and starting it needs root" >&2; exit 1; }
pkgs=()
command -v keystone-manage >/dev/null || pkgs+=(keystone)
/usr/bin/python3 -c 'import pymysql' 2>/dev/null || pkgs+=(python3-pymysql)
command -v openstack >/dev/null || pkgs+=(python3-openstackclient)
if [ ${#pkgs[@]} -gt 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
mysql -uroot -h127.0.0.1 -e "CREATE DATABASE IF NOT EXISTS keystone; CREATE USER IF NOT EXISTS 'keystone'@'127.0.0.1' IDENTIFIED BY 'keystone'; GRANT ALL ON keystone.* TO 'keystone'@'127.0.0.1';"
cat > $R/keystone.conf <<CONF
[DEFAULT]
log_file = $R/keystone.log
[database]
connection = mysql+pymysql://keystone:keystone@127.0.0.1/keystone
[token]
provider = fernet
[fernet_tokens]
key_repository = $R/fernet
[credential]
key_repository = $R/cred
CONF
keystone-manage --config-file $R/keystone.conf db_sync >$R/ks-sync.log 2>&1
[ -f $R/fernet/0 ] || keystone-manage --config-file $R/keystone.conf fernet_setup --keystone-user root --keystone-group root >/dev/null 2>&1
[ -f $R/cred/0 ] || keystone-manage --config-file $R/keystone.conf credential_setup --keystone-user root --keystone-group root >/dev/null 2>&1
keystone-manage --config-file $R/keystone.conf bootstrap --bootstrap-password adminpw \
	--bootstrap-admin-url http://127.0.0.1:15000/v3/ --bootstrap-internal-url http://127.0.0.1:15000/v3/ \
	--bootstrap-public-url http://127.0.0.1:15000/v3/ --bootstrap-region-id RegionOne >$R/ks-boot.log 2>&1
cat > $R/keystone-serve.py <<PY
import os, sys
os.environ["OS_KEYSTONE_CONFIG_FILES"] = "$R/keystone.conf"
sys.argv = ["keystone"]
from keystone.server.wsgi import initialize_public_application
app = initialize_public_application()
from wsgiref.simple_server import make_server, WSGIServer
from socketserver import ThreadingMixIn
class Server(ThreadingMixIn, WSGIServer): daemon_threads = True
make_server("127.0.0.1", 15000, app, server_class=Server).serve_forever()
PY
(setsid /usr/bin/python3 $R/keystone-serve.py >$R/keystone.out 2>&1 &)
for _ in $(seq 1 60); do curl -s -o /dev/null -m 2 http://127.0.0.1:15000/v3 && break; sleep 1; done
curl -s -o /dev/null -m 5 http://127.0.0.1:15000/v3 || { echo "test-keystone: Keystone did not start; see $R/keystone.out" >&2; exit 1; }
write_clouds
