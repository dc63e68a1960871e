package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing/fstest"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"portico/migrations"
)

// Migrate applies every pending migration and returns how many ran. On Postgres
// a session advisory lock makes concurrent starts (several dynos) take turns.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	fsys, err := dialectFS(migrations.FS, s.dialect)
	if err != nil {
		return 0, err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	dialect := goose.DialectSQLite3
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return 0, fmt.Errorf("store: migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.sqlDB, fsys, opts...)
	if err != nil {
		return 0, fmt.Errorf("store: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("store: migrate: %w", err)
	}
	for _, r := range results {
		s.log.InfoContext(ctx, "migration applied", "version", r.Source.Version, "file", path.Base(r.Source.Path), "ms", r.Duration.Milliseconds())
	}
	return len(results), nil
}

// dialectFS lays the dialect's variants over the shared migrations: a file in
// postgres/ or sqlite/ replaces the shared file of the same name, and a variant
// with no shared counterpart is added.
func dialectFS(src fs.FS, dialect string) (fs.FS, error) {
	out := fstest.MapFS{}
	add := func(dir string) error {
		entries, err := fs.ReadDir(src, dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
				continue
			}
			b, err := fs.ReadFile(src, path.Join(dir, e.Name()))
			if err != nil {
				return err
			}
			out[e.Name()] = &fstest.MapFile{Data: b, Mode: 0o444}
		}
		return nil
	}
	if err := add("."); err != nil {
		return nil, fmt.Errorf("store: read migrations: %w", err)
	}
	if err := add(dialect); err != nil {
		return nil, fmt.Errorf("store: read %s migrations: %w", dialect, err)
	}
	return out, nil
}

// MigrationFiles lists the migration names a dialect runs, in order (for tests
// and `portico migrate` output).
func MigrationFiles(dialect string) ([]string, error) {
	fsys, err := dialectFS(migrations.FS, dialect)
	if err != nil {
		return nil, err
	}
	var names []string
	for name := range fsys.(fstest.MapFS) {
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}
