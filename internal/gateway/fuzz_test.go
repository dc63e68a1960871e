package gateway

import (
	"net/http/httptest"
	"testing"
)

// FuzzCredentials sends arbitrary API keys and Authorization headers: every
// answer is a proper refusal or a pass, never a panic or a 5xx.
func FuzzCredentials(f *testing.F) {
	fx := newFixture(f)
	good := fx.token(nil, "k1")
	for _, s := range []string{"", "good-key", "Bearer " + good, "Bearer " + good[:20], "Bearer a.b.c", "bearer", "Basic x", "Bearer \x00", "Bearer eyJhbGciOiJub25lIn0.e30."} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, key, authz string) {
		req := httptest.NewRequest("GET", "/pets/v1/pets", nil)
		if key != "" {
			req.Header["Apikey"] = []string{key}
		}
		if authz != "" {
			req.Header["Authorization"] = []string{authz}
		}
		rec := httptest.NewRecorder()
		fx.gw.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%d for key %q, authorization %q: %s", rec.Code, key, authz, rec.Body)
		}
	})
}
