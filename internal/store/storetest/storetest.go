// Package storetest gives tests a fresh, migrated database of each dialect:
// a temporary SQLite file, and a new PostgreSQL database created on the server
// named by TEST_DATABASE_URL (started by `make test`). With CI=true a missing
// server fails the test instead of skipping it.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for CREATE/DROP DATABASE

	"portico/internal/config"
	"portico/internal/store"
)

// Dialects lists the databases every store test runs on.
var Dialects = []string{store.SQLite, store.Postgres}

// Each runs fn once per dialect as a subtest with a fresh migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh migrated store of dialect, closed and removed after the test.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	cfg := Database(t, dialect)
	s, err := store.Open(context.Background(), cfg, Logger(t))
	if err != nil {
		t.Fatalf("storetest: open %s: %v", dialect, err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("storetest: migrate %s: %v", dialect, err)
	}
	return s
}

// Database returns the configuration of a new, empty database of dialect; nothing is
// migrated. Postgres databases are dropped when the test ends.
func Database(t testing.TB, dialect string) config.Database {
	t.Helper()
	switch dialect {
	case store.SQLite:
		return config.Database{Driver: store.SQLite, DSN: filepath.Join(t.TempDir(), "portico.db")}
	case store.Postgres:
		return config.Database{Driver: store.Postgres, DSN: newPostgresDatabase(t)}
	}
	t.Fatalf("storetest: unknown dialect %q", dialect)
	return config.Database{}
}

// PostgresURL returns TEST_DATABASE_URL, skipping (or failing under CI) without it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_DATABASE_URL is not set: `make test` starts PostgreSQL and sets it")
		}
		t.Skip("TEST_DATABASE_URL not set; run `make test` to test on PostgreSQL")
	}
	return u
}

func newPostgresDatabase(t testing.TB) string {
	t.Helper()
	admin := PostgresURL(t)
	name := "portico_test_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err != nil {
			return
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("storetest: TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Logger returns a quiet logger; PORTICO_TEST_LOG=1 sends it to stderr at debug.
// (Not t.Log: background goroutines may log after the test ends.)
func Logger(testing.TB) *slog.Logger {
	var w io.Writer = io.Discard
	if os.Getenv("PORTICO_TEST_LOG") == "1" {
		w = os.Stderr
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// MustExec runs SQL on s or fails the test.
func MustExec(t testing.TB, s *store.Store, query string, args ...any) {
	t.Helper()
	if err := s.DB(context.Background()).Exec(query, args...).Error; err != nil {
		t.Fatalf("storetest: %s: %v", query, fmt.Sprint(err))
	}
}
