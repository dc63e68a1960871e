package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"portico/internal/config"
)

// Dialects.
const (
	Postgres = "postgres"
	SQLite   = "sqlite"
)

// Store is the open database. It is safe for concurrent use.
type Store struct {
	db      *gorm.DB
	sqlDB   *sql.DB
	dialect string
	dsn     string
	log     *slog.Logger
}

// Open connects to the database cfg names and checks it answers. SQLite files and
// their directory are created when missing.
func Open(ctx context.Context, cfg config.Database, log *slog.Logger) (*Store, error) {
	gcfg := &gorm.Config{
		Logger:                                   gormLogger{log: log},
		NowFunc:                                  func() time.Time { return time.Now().UTC() },
		TranslateError:                           true,
		DisableForeignKeyConstraintWhenMigrating: true,
	}
	var dialector gorm.Dialector
	switch cfg.Driver {
	case Postgres:
		dialector = postgres.New(postgres.Config{DSN: cfg.DSN})
	case SQLite:
		if dir := filepath.Dir(cfg.DSN); dir != "." && dir != "" {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("store: create directory for %s: %w", cfg.DSN, err)
			}
		}
		dialector = sqlite.Open(sqliteDSN(cfg.DSN))
	default:
		return nil, fmt.Errorf("store: unknown driver %q", cfg.Driver)
	}
	db, err := gorm.Open(dialector, gcfg)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", cfg.Driver, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	switch cfg.Driver {
	case Postgres:
		// Heroku's smallest plans allow 20 connections in all; leave room for
		// `portico gateway` nodes and the LISTEN connection.
		sqlDB.SetMaxOpenConns(10)
		sqlDB.SetMaxIdleConns(5)
	case SQLite:
		// One writer at a time is SQLite's rule; BEGIN IMMEDIATE and the busy
		// timeout queue writers instead of failing them. Readers run beside them (WAL).
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
	}
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, sqlDB: sqlDB, dialect: cfg.Driver, dsn: cfg.DSN, log: log}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		sqlDB.Close()
		return nil, fmt.Errorf("store: %s does not answer: %w", cfg.Driver, err)
	}
	return s, nil
}

// sqliteDSN turns a file path into a DSN with the pragmas Portico relies on:
// WAL for readers beside a writer, a busy timeout so writers wait their turn,
// foreign keys enforced, and BEGIN IMMEDIATE so a transaction never fails late
// when it upgrades from reading to writing.
func sqliteDSN(path string) string {
	q := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	if strings.Contains(path, "?") {
		return "file:" + path + "&" + q
	}
	return "file:" + path + "?" + q
}

// Dialect is Postgres or SQLite.
func (s *Store) Dialect() string { return s.dialect }

// DSN is the data source the store was opened with (for the Postgres listener).
func (s *Store) DSN() string { return s.dsn }

// SQL returns the underlying *sql.DB (migrations, bulk loads).
func (s *Store) SQL() *sql.DB { return s.sqlDB }

// Ping checks the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.sqlDB.PingContext(ctx) }

// Close closes every connection.
func (s *Store) Close() error { return s.sqlDB.Close() }

type txKey struct{}

// DB returns the transaction carried by ctx, or the pool, bound to ctx.
func (s *Store) DB(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx.WithContext(ctx)
	}
	return s.db.WithContext(ctx)
}

// InTx runs fn in a transaction carried by the context it is given. A call made
// while a transaction is already in ctx joins it: the outermost InTx commits.
// fn's error rolls everything back and is returned unchanged.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
}

// InTx reports whether ctx carries a transaction.
func InTx(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*gorm.DB)
	return ok
}

// IsUniqueViolation reports whether err is a unique-constraint failure on either
// database. Repositories turn it into their own conflict error.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505")
}

// IsNotFound reports whether err means "no row".
func IsNotFound(err error) bool {
	return errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows)
}

// ReadTx runs fn in a read-only transaction that sees one consistent state of the
// database (REPEATABLE READ on Postgres; a WAL read snapshot on SQLite). The
// gateway loader reads a whole snapshot this way.
func (s *Store) ReadTx(ctx context.Context, fn func(ctx context.Context) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	}, opts)
}
