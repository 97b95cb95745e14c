#!/bin/sh
# udhcpc's event script: apply the lease to $interface.
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	ifconfig "$interface" "$ip" netmask "${subnet:-255.255.255.0}" up
	[ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
	if [ -n "$router" ]; then
		ip route del default dev "$interface" 2>/dev/null
		for r in $router; do
			ip route add default via "$r" dev "$interface" && break
		done
	fi
	: >/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	echo "imagestack-guest-dhcp $interface $ip"
	;;
esac
