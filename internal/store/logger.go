package store

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// slowQuery is the threshold above which a statement is logged at warn.
const slowQuery = 500 * time.Millisecond

// gormLogger sends GORM's messages to slog. SQL text is logged only at debug and
// never with its bound values (they can hold secrets).
type gormLogger struct{ log *slog.Logger }

func (l gormLogger) LogMode(logger.LogLevel) logger.Interface { return l }
func (l gormLogger) Info(ctx context.Context, msg string, args ...any) {
	l.log.DebugContext(ctx, "gorm: "+msg)
}
func (l gormLogger) Warn(ctx context.Context, msg string, args ...any) {
	l.log.WarnContext(ctx, "gorm: "+msg)
}
func (l gormLogger) Error(ctx context.Context, msg string, args ...any) {
	l.log.ErrorContext(ctx, "gorm: "+msg)
}

func (l gormLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	elapsed := time.Since(begin)
	switch {
	case err != nil && !errors.Is(err, gorm.ErrRecordNotFound) && l.log.Enabled(ctx, slog.LevelDebug):
		sql, _ := fc()
		l.log.DebugContext(ctx, "sql failed", "sql", sql, "err", err, "elapsed_ms", elapsed.Milliseconds())
	case elapsed > slowQuery:
		sql, _ := fc()
		l.log.WarnContext(ctx, "slow sql", "sql", sql, "elapsed_ms", elapsed.Milliseconds())
	case l.log.Enabled(ctx, slog.LevelDebug-4):
		sql, rows := fc()
		l.log.Log(ctx, slog.LevelDebug-4, "sql", "sql", sql, "rows", rows, "elapsed_ms", elapsed.Milliseconds())
	}
}

// ParamsFilter keeps bound values out of every logged statement: GORM then logs
// the SQL with placeholders only.
func (l gormLogger) ParamsFilter(_ context.Context, sql string, _ ...any) (string, []any) {
	return sql, nil
}
