package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// notifyChannel is the Postgres channel a bump is announced on.
const notifyChannel = "portico_config"

// BumpConfigVersion increments the config version and returns the new value. Call
// it inside the transaction that changes what the gateway sees, so the bump (and on
// Postgres the NOTIFY, delivered at commit) happens exactly when the change is visible.
func (s *Store) BumpConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.DB(ctx).Raw(
		"UPDATE config_version SET version = version + 1, updated_at = ? WHERE id = 1 RETURNING version",
		time.Now().UTC(),
	).Scan(&v).Error
	if err != nil {
		return 0, fmt.Errorf("store: bump config version: %w", err)
	}
	if s.dialect == Postgres {
		if err := s.DB(ctx).Exec("SELECT pg_notify(?, ?)", notifyChannel, strconv.FormatInt(v, 10)).Error; err != nil {
			return 0, fmt.Errorf("store: notify config version: %w", err)
		}
	}
	return v, nil
}

// ConfigVersion reads the current config version.
func (s *Store) ConfigVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.DB(ctx).Raw("SELECT version FROM config_version WHERE id = 1").Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("store: read config version: %w", err)
	}
	return v, nil
}

// WatchConfigVersion calls fn with the current version, then again each time the
// version grows, until ctx ends. It polls every interval on every database and,
// on Postgres, also LISTENs on a dedicated connection so a change is seen within
// milliseconds. fn runs on the watcher's goroutine; a slow fn delays the next check.
// Database errors are logged once per outage and retried; they never end the watch.
func (s *Store) WatchConfigVersion(ctx context.Context, interval time.Duration, fn func(version int64)) {
	wake := make(chan struct{}, 1)
	if s.dialect == Postgres {
		go s.listen(ctx, wake)
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var last int64 = -1
	failing := false
	check := func() {
		v, err := s.ConfigVersion(ctx)
		if err != nil {
			if ctx.Err() == nil && !failing {
				s.log.WarnContext(ctx, "config version unreadable; retrying", "err", err)
			}
			failing = true
			return
		}
		if failing {
			s.log.InfoContext(ctx, "config version readable again")
			failing = false
		}
		if v > last {
			last = v
			fn(v)
		}
	}
	check()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-wake:
		}
		check()
	}
}

// listen holds a LISTEN connection open, reconnecting with backoff, and wakes
// the watcher on each notification.
func (s *Store) listen(ctx context.Context, wake chan<- struct{}) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		s.log.DebugContext(ctx, "config listener lost; polling until it reconnects", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

func (s *Store) listenOnce(ctx context.Context, wake chan<- struct{}) error {
	connCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := pgx.Connect(connCtx, s.dsn)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	// A change may have landed while we were connecting: check once.
	signal(wake)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		signal(wake)
	}
}

func signal(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default: // a wake-up is already pending; one check covers both
	}
}
