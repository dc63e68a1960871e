// Package outbox runs a module's durable jobs: rows written inside the
// transaction that decided on them, then worked after commit by whichever node
// claims them first, retried with backoff until they succeed, fail for good, or
// give up. Billing (Stripe calls) and the Heroku add-on (Platform API calls)
// each keep their own job table and work it through a Worker.
//
// A job table has at least the columns of Row. outbox imports store only.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"portico/internal/store"
)

// Job states.
const (
	Pending   = "pending"
	Done      = "done"
	Failed    = "failed"
	Cancelled = "cancelled"
)

// Row holds the columns every job table shares; a module's job model embeds it.
type Row struct {
	ID          string `gorm:"primaryKey"`
	Kind        string
	State       string
	Attempts    int
	RunAt       time.Time
	LockedUntil *time.Time
	LastError   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// JobRow gives the worker the shared columns of a module's job.
func (r *Row) JobRow() *Row { return r }

// Job is a module's job model: a struct embedding Row, with a TableName.
type Job interface {
	JobRow() *Row
	TableName() string
}

// NewRow returns a pending row of kind due at now.
func NewRow(id, kind string, now time.Time) Row {
	return Row{ID: id, Kind: kind, State: Pending, RunAt: now, CreatedAt: now, UpdatedAt: now}
}

// Permanent marks a job failure that retrying cannot fix.
type Permanent struct{ Err error }

func (p Permanent) Error() string { return p.Err.Error() }
func (p Permanent) Unwrap() error { return p.Err }

// Worker works the jobs of one table. P is a pointer to the module's job model.
type Worker[J any, P interface {
	*J
	Job
}] struct {
	Store *store.Store
	Log   *slog.Logger
	// Name prefixes log messages ("billing", "heroku").
	Name string
	// Lease is how long a claimed job is this node's; a job gets half of it
	// to run, so a lease never ends while its job still runs.
	Lease time.Duration
	// Now is the clock (tests move it).
	Now func() time.Time
	// RetryBase and RetryMax bound the backoff: RetryBase doubled per attempt.
	RetryBase, RetryMax time.Duration
	// Step does what is left of a job.
	Step func(ctx context.Context, j P) error
	// GiveUp reports whether a job whose attempt failed is retried no more.
	GiveUp func(j P, now time.Time) bool
	// OnFailed, when set, runs when a job fails for good.
	OnFailed func(ctx context.Context, j P)
	// Attrs, when set, adds a job's own fields to its log lines.
	Attrs func(j P) []any
}

// batch is how many due jobs one RunDue looks at.
const batch = 20

// RunDue runs the jobs due now, one after another, each claimed first so
// several nodes may run workers over one database.
func (w *Worker[J, P]) RunDue(ctx context.Context) {
	now := w.Now()
	var js []J
	var zero P = new(J)
	err := w.Store.DB(ctx).Table(zero.TableName()).
		Where("state = ? AND run_at <= ? AND (locked_until IS NULL OR locked_until < ?)", Pending, now, now).
		Order("run_at, id").Limit(batch).Find(&js).Error
	if err != nil {
		if ctx.Err() == nil {
			w.Log.WarnContext(ctx, w.Name+": listing due jobs failed", "err", err)
		}
		return
	}
	for i := range js {
		if ctx.Err() != nil {
			return
		}
		j := P(&js[i])
		ok, err := w.claim(ctx, j, now)
		if err != nil || !ok {
			continue
		}
		j.JobRow().Attempts++
		w.run(ctx, j)
	}
}

// claim takes a due job for this node; false when another node took it first.
func (w *Worker[J, P]) claim(ctx context.Context, j P, now time.Time) (bool, error) {
	res := w.Store.DB(ctx).Table(j.TableName()).
		Where("id = ? AND state = ? AND (locked_until IS NULL OR locked_until < ?)", j.JobRow().ID, Pending, now).
		Updates(map[string]any{"locked_until": now.Add(w.Lease), "attempts": gorm.Expr("attempts + 1"), "updated_at": now})
	if res.Error != nil {
		return false, fmt.Errorf("%s: claim job: %w", w.Name, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// update changes a pending job; a job cancelled meanwhile stays cancelled.
func (w *Worker[J, P]) update(ctx context.Context, j P, cols map[string]any) {
	err := w.Store.DB(ctx).Table(j.TableName()).Where("id = ? AND state = ?", j.JobRow().ID, Pending).Updates(cols).Error
	if err != nil {
		w.Log.WarnContext(ctx, w.Name+": recording a job's outcome failed", "job", j.JobRow().ID, "err", err)
	}
}

func (w *Worker[J, P]) run(ctx context.Context, j P) {
	jctx, cancel := context.WithTimeout(ctx, w.Lease/2)
	err := w.Step(jctx, j)
	cancel()
	r, now := j.JobRow(), w.Now()
	attrs := []any{"job", r.ID, "kind", r.Kind, "attempts", r.Attempts}
	if w.Attrs != nil {
		attrs = append(attrs, w.Attrs(j)...)
	}
	if err == nil {
		w.update(ctx, j, map[string]any{"state": Done, "locked_until": nil, "last_error": "", "updated_at": now})
		w.Log.InfoContext(ctx, w.Name+": job done", attrs...)
		return
	}
	msg := err.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	attrs = append(attrs, "err", err)
	var perm Permanent
	if errors.As(err, &perm) || (w.GiveUp != nil && w.GiveUp(j, now)) {
		w.Log.ErrorContext(ctx, w.Name+": job failed for good", attrs...)
		w.update(ctx, j, map[string]any{"state": Failed, "locked_until": nil, "last_error": msg, "updated_at": now})
		if w.OnFailed != nil {
			w.OnFailed(ctx, j)
		}
		return
	}
	delay := w.Backoff(r.Attempts)
	w.Log.WarnContext(ctx, w.Name+": job failed; retrying", append(attrs, "retry_in", delay.String())...)
	w.update(ctx, j, map[string]any{"run_at": now.Add(delay), "locked_until": nil, "last_error": msg, "updated_at": now})
}

// Backoff is the wait before the next attempt: RetryBase doubled per attempt
// made, at most RetryMax.
func (w *Worker[J, P]) Backoff(attempts int) time.Duration {
	d := w.RetryBase
	for i := 1; i < attempts && d < w.RetryMax; i++ {
		d *= 2
	}
	return min(d, w.RetryMax)
}
