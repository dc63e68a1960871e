package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrNotPublic is returned (wrapped) when an address, or a name's address, is
// not a public one.
var ErrNotPublic = errors.New("address not allowed")

// PublicAddress reports whether ip is a globally routable unicast address:
// not loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified,
// multicast, or a documentation, benchmarking or NAT64 range.
func PublicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// nonPublic lists ranges the netip predicates do not cover. Read-only.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"), // TEST-NET-1..3
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),   // NAT64 can reach IPv4 private space
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("2001:db8::/32"),
}

// Control is a net.Dialer Control function that refuses to connect to a
// non-public address. It runs after name resolution, on the address actually
// dialled.
func Control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !PublicAddress(ip) {
		return fmt.Errorf("%s: %w", host, ErrNotPublic)
	}
	return nil
}

// Dialer returns a dialer with the given connect timeout that connects only to
// public addresses, or to any address when allowPrivate is set (tests, whose
// receivers listen on loopback).
func Dialer(timeout time.Duration, allowPrivate bool) *net.Dialer {
	d := &net.Dialer{Timeout: timeout}
	if !allowPrivate {
		d.Control = Control
	}
	return d
}

// numericName reports whether host, not a valid IP address, ends in a numeric
// label: "2130706433", "0x7f.1", "127.1". No DNS name does (top-level domains
// are never numeric), but other HTTP clients read these as IPv4 addresses
// (127.0.0.1 here), so they are refused rather than guessed at.
func numericName(host string) bool {
	last := host[strings.LastIndexByte(host, '.')+1:]
	digits := "0123456789"
	if hex, ok := strings.CutPrefix(last, "0x"); ok {
		last, digits = hex, "0123456789abcdef"
	}
	return last != "" && strings.Trim(last, digits) == ""
}

// CheckHost is the check made when a URL is saved: a literal address must be
// public, "localhost" and names under it are refused, and a name whose
// addresses include a non-public one is refused (ErrNotPublic, wrapped). A name
// that does not resolve returns the resolver's error, which callers may
// tolerate: the connect-time check still applies to whatever it resolves to
// later.
func CheckHost(ctx context.Context, r *net.Resolver, host string) error {
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		if !PublicAddress(ip) {
			return fmt.Errorf("%s: %w", host, ErrNotPublic)
		}
		return nil
	}
	lower := strings.ToLower(host)
	if lower == "localhost" || strings.HasSuffix(lower, ".localhost") || numericName(lower) {
		return fmt.Errorf("%s: %w", host, ErrNotPublic)
	}
	if r == nil {
		r = net.DefaultResolver
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if !PublicAddress(ip) {
			return fmt.Errorf("%s resolves to %s: %w", host, ip, ErrNotPublic)
		}
	}
	return nil
}
