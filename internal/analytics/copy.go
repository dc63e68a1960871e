package analytics

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// eventColumns are the raw event columns COPY writes, in eventRow order.
var eventColumns = []string{"org_id", "api_id", "operation", "application_id", "subscription_id",
	"status", "latency_us", "bytes_in", "bytes_out", "at", "backend_failed"}

// rollupUnnest is the PostgreSQL rollup upsert: one array parameter per
// column, unnested into rows, so a batch of any size is one statement with
// rollupColumns-many parameters (and no per-row placeholders to build).
var rollupUnnest = func() string {
	var b strings.Builder
	b.WriteString("INSERT INTO analytics_rollups (")
	b.WriteString(strings.Join(rollupColumns, ", "))
	b.WriteString(") SELECT * FROM unnest(")
	for i, c := range rollupColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		typ := "bigint[]"
		switch c {
		case "org_id", "api_id", "operation", "application_id":
			typ = "text[]"
		case "status", "status_class":
			typ = "integer[]"
		}
		fmt.Fprintf(&b, "$%d::%s", i+1, typ)
	}
	b.WriteString(")")
	b.WriteString(rollupUpsert)
	return b.String()
}()

// copyBatch is writeBatch on PostgreSQL: the raw events by COPY and the
// rollups by one unnest upsert, in one pgx transaction on one pooled
// connection, so a retried batch never counts twice. It does not join a
// transaction carried by ctx (the sink never has one).
func (r repo) copyBatch(ctx context.Context, rows []eventRow, rollups []rollup) error {
	conn, err := r.st.SQL().Conn(ctx)
	if err != nil {
		return wrap("copy: connection", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("analytics: copy: driver connection is %T, not pgx", dc)
		}
		tx, err := sc.Conn().Begin(ctx)
		if err != nil {
			return wrap("copy: begin", err)
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // no-op after Commit
		if len(rows) > 0 {
			n, err := tx.CopyFrom(ctx, pgx.Identifier{"analytics_events"}, eventColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				e := &rows[i]
				return []any{e.OrgID, e.APIID, e.Operation, e.ApplicationID, e.SubscriptionID,
					int32(e.Status), e.LatencyUS, e.BytesIn, e.BytesOut, e.At, e.BackendFailed}, nil
			}))
			if err != nil {
				return wrap("copy events", err)
			}
			if n != int64(len(rows)) {
				return fmt.Errorf("analytics: copy events: wrote %d of %d", n, len(rows))
			}
		}
		if len(rollups) > 0 {
			if _, err := tx.Exec(ctx, rollupUnnest, rollupArrays(rollups)...); err != nil {
				return wrap("upsert rollups", err)
			}
		}
		return wrap("copy: commit", tx.Commit(ctx))
	})
}

// rollupArrays turns rollups into one array per rollupColumns entry.
func rollupArrays(rs []rollup) []any {
	n := len(rs)
	var (
		org, api, op, app  = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		status, class      = make([]int32, n), make([]int32, n)
		minute, cnt, errs  = make([]int64, n), make([]int64, n), make([]int64, n)
		sum, mx, bin, bout = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		backend            = make([]int64, n)
		hist               [Buckets][]int64
	)
	for b := range hist {
		hist[b] = make([]int64, n)
	}
	for i, r := range rs {
		org[i], api[i], op[i], app[i] = r.OrgID, r.APIID, r.Operation, r.ApplicationID
		status[i], class[i] = int32(r.Status), int32(r.Status/100)
		minute[i], cnt[i], errs[i] = r.Minute, r.Count, r.Errors
		sum[i], mx[i], bin[i], bout[i] = r.LatencySumUS, r.LatencyMaxUS, r.BytesIn, r.BytesOut
		backend[i] = r.BackendErrors
		for b, h := range r.Hist {
			hist[b][i] = h
		}
	}
	args := []any{org, api, op, app, status, class, minute, cnt, errs, sum, mx, bin, bout, backend}
	for b := range hist {
		args = append(args, hist[b])
	}
	return args // one per rollupColumns entry, in order (TestRollupArraysMatchTheColumns)
}
