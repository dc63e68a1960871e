package oauth_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"portico/internal/app/apptest"
	"portico/internal/store"
)

// BenchmarkClientCredentials measures client-credentials token issuance through
// the real HTTP stack (client authentication, JWT signing, one row written),
// reported as tokens/s. `make bench BENCH=BenchmarkClientCredentials`.
func BenchmarkClientCredentials(b *testing.B) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			s := apptest.Start(b, dialect)
			c := newClient(b, s, s.AdminToken(b), map[string]any{"name": "Bench"})
			body := url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}}.Encode()
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.SetParallelism(4)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(c.ClientID, c.Secret)
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("token: %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
