package catalog_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"portico/internal/account"
	"portico/internal/app/apptest"
	"portico/internal/catalog"
)

type accountPrincipal = account.Principal

func adminPrincipal(t *testing.T, s *apptest.Server) account.Principal {
	t.Helper()
	u, err := s.App.Accounts().Authenticate(context.Background(), apptest.AdminEmail, apptest.AdminPassword)
	if err != nil {
		t.Fatal(err)
	}
	return account.Principal{UserID: u.ID, OrgID: u.OrgID, Email: u.Email, Role: u.Role}
}

// BenchmarkImportHTTP imports a multi-MB spec through POST /api/v1/apis/import
// into SQLite: parse, validate, and store thousands of operations.
func BenchmarkImportHTTP(b *testing.B) {
	s := apptest.Start(b, "sqlite")
	tok := s.AdminToken(b)
	spec := catalog.BigSpec(1500)
	b.SetBytes(int64(len(spec)))
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		r := s.Do(b, http.MethodPost, "/api/v1/apis/import", tok, map[string]any{"spec": spec, "context": fmt.Sprintf("big%d", i)})
		if r.Status != http.StatusCreated {
			b.Fatalf("%d %.300s", r.Status, r.Body)
		}
	}
}
