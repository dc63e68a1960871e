package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"portico/internal/platform/apperr"
)

// fetcher downloads specs for URL import. It refuses loopback, private,
// link-local and other non-public addresses at connect time (after DNS, so a name
// pointing inside cannot slip through, redirects included), and bounds both the
// time and the size of the download.
type fetcher struct {
	client       *http.Client
	allowPrivate bool
}

var errPrivateAddress = errors.New("address not allowed")

func newFetcher(timeout time.Duration, allowPrivate bool) *fetcher {
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	f := &fetcher{allowPrivate: allowPrivate}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: f.control}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		Proxy:                 nil, // a proxy would connect on our behalf to anything
	}
	f.client = &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return errors.New("redirect to a non-HTTP URL")
			}
			return nil
		},
	}
	return f
}

func (f *fetcher) control(_, address string, _ syscall.RawConn) error {
	if f.allowPrivate {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return errPrivateAddress
	}
	if !PublicAddress(ip) {
		return errPrivateAddress
	}
	return nil
}

// PublicAddress reports whether ip is a globally routable unicast address:
// not loopback, private (RFC 1918, ULA), link-local, CGNAT, unspecified or multicast.
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

var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 can reach IPv4 private space
	netip.MustParsePrefix("2001:db8::/32"),
}

// get downloads raw, at most MaxSpecBytes.
func (f *fetcher) get(ctx context.Context, raw string) ([]byte, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, apperr.Invalid("url", "invalid_url", "Give an absolute http:// or https:// URL of the spec, without credentials.")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, apperr.Invalid("url", "invalid_url", "That URL cannot be fetched.")
	}
	req.Header.Set("Accept", "application/yaml, application/json;q=0.9, text/plain;q=0.5, */*;q=0.1")
	req.Header.Set("User-Agent", "Portico spec import")
	resp, err := f.client.Do(req)
	if err != nil {
		if errors.Is(err, errPrivateAddress) {
			return nil, apperr.Invalid("url", "address_not_allowed", fmt.Sprintf("%s resolves to a loopback, private or link-local address; Portico fetches specs only from public addresses. Paste or upload the document instead.", u.Hostname()))
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, apperr.Invalid("url", "fetch_timeout", fmt.Sprintf("%s did not answer in time; paste or upload the document instead.", u.Host))
		}
		return nil, apperr.Invalid("url", "fetch_failed", fmt.Sprintf("Fetching the spec failed: %s.", cleanNetError(err)))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, apperr.Invalid("url", "fetch_failed", fmt.Sprintf("Fetching the spec failed: %s answered %d %s.", u.Host, resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	if resp.ContentLength > MaxSpecBytes {
		return nil, apperr.Newf(apperr.KindTooLarge, "spec_too_large", "The spec at that URL is %d bytes; Portico imports documents of up to %d MiB.", resp.ContentLength, MaxSpecBytes>>20).WithField("url")
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxSpecBytes+1))
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, apperr.Invalid("url", "fetch_timeout", "The spec took too long to download; paste or upload it instead.")
		}
		return nil, apperr.Invalid("url", "fetch_failed", "Reading the spec failed part way; try again, or paste it.")
	}
	if len(b) > MaxSpecBytes {
		return nil, apperr.Newf(apperr.KindTooLarge, "spec_too_large", "The spec at that URL is larger than %d MiB.", MaxSpecBytes>>20).WithField("url")
	}
	return b, nil
}

func cleanNetError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "the host name " + dnsErr.Name + " does not resolve"
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return "cannot connect (" + op.Err.Error() + ")"
	}
	return err.Error()
}
