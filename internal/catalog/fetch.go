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
	"time"

	"portico/internal/platform/apperr"
	"portico/internal/platform/netguard"
)

// fetcher downloads specs for URL import. It refuses loopback, private,
// link-local and other non-public addresses at connect time (after DNS, so a name
// pointing inside cannot slip through, redirects included), and bounds both the
// time and the size of the download.
type fetcher struct {
	client *http.Client
}

func newFetcher(timeout time.Duration, allowPrivate bool) *fetcher {
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	f := &fetcher{}
	dialer := netguard.Dialer(5*time.Second, allowPrivate)
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

// PublicAddress reports whether ip is a globally routable unicast address; the
// rules live in netguard, shared with alert webhooks.
func PublicAddress(ip netip.Addr) bool { return netguard.PublicAddress(ip) }

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
		if errors.Is(err, netguard.ErrNotPublic) {
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
