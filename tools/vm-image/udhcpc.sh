#!/bin/sh
# udhcpc hook: applies the lease vpnkit's DHCP server gives (address, router, DNS, domain, MTU).
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    ip route add default via "$router" 2>/dev/null
    { [ -n "$domain" ] && echo "search $domain"; for d in $dns; do echo "nameserver $d"; done; } > /etc/resolv.conf
    echo "kitbox-agent: lease $ip/$mask router $router dns $dns"
    ;;
esac
