// Package netguard keeps Portico's outbound HTTP calls made on a user's behalf
// (spec imports by URL, alert webhooks) away from the installation's own
// network: loopback, private, link-local, CGNAT and other non-public
// addresses. It checks addresses twice: when a URL is saved (a clear error for
// the user) and at connect time, after DNS, through a net.Dialer Control
// function, so a name that later resolves inside (DNS rebinding) or a redirect
// cannot slip through.
//
// netguard imports only the standard library.
package netguard
