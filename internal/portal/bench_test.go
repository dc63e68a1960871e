package portal_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"portico/internal/account"
	"portico/internal/app/apptest"
	"portico/internal/catalog"
	"portico/internal/store"
)

// BenchmarkCatalogPage renders the catalogue page through the whole HTTP stack
// with 1000 published APIs in the organisation: the first page, a search, a tag
// filter and a page deep in the cursor chain. Each page costs a bounded number
// of queries whatever the catalogue's size (no query per API).
func BenchmarkCatalogPage(b *testing.B) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			s := apptest.Start(b, dialect)
			ctx := context.Background()
			org, err := s.App.Accounts().FirstOrg(ctx)
			if err != nil {
				b.Fatal(err)
			}
			pub := account.Principal{UserID: "bench", OrgID: org.ID, Role: account.RolePublisher}
			cat := s.App.Catalog()
			var middle string
			for i := range 1000 {
				name := fmt.Sprintf("Service %04d", i)
				desc := fmt.Sprintf("Does thing number %d for customers, reliably and fast.", i)
				tags := []string{"group-" + fmt.Sprint(i%10), "bench"}
				backend := "http://127.0.0.1:9/x"
				api, err := cat.CreateAPI(ctx, pub, catalog.APIInput{Name: &name, Context: fmt.Sprintf("svc%04d", i), Version: "v1",
					Description: &desc, Tags: &tags, BackendURL: &backend})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := cat.ChangeState(ctx, pub, api.ID, catalog.ActionPublish, false); err != nil {
					b.Fatal(err)
				}
				if i == 500 {
					middle = api.ID
				}
			}
			deep := "/portal/default?cursor=" + cursorOf(middle)
			for _, page := range []struct{ name, path string }{
				{"first", "/portal/default"},
				{"search", "/portal/default?q=number+77"},
				{"tag", "/portal/default?tag=group-3"},
				{"deep", deep},
			} {
				b.Run(page.name, func(b *testing.B) {
					client := &http.Client{}
					get := func() {
						resp, err := client.Get(s.URL + page.path)
						if err != nil {
							b.Fatal(err)
						}
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 || !strings.Contains(string(body), "Service ") {
							b.Fatalf("%d", resp.StatusCode)
						}
					}
					get()
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						get()
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/page")
				})
			}
		})
	}
}

// cursorOf is the cursor the catalogue hands out after the API with id.
func cursorOf(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }
