package analytics

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"portico/internal/platform/apperr"
	"portico/internal/store"
)

// repo is the only code in analytics that touches the database.
type repo struct{ st *store.Store }

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("analytics: %s: %w", what, err)
}

// rollupColumns lists the rollup columns written, in order (the key first).
var rollupColumns = func() []string {
	cols := []string{"org_id", "api_id", "operation", "application_id", "status", "status_class", "minute",
		"count", "errors", "latency_sum_us", "latency_max_us", "bytes_in", "bytes_out", "backend_errors"}
	for i := 0; i < Buckets; i++ {
		cols = append(cols, fmt.Sprintf("h%02d", i))
	}
	return cols
}()

// rollupUpsert is the ON CONFLICT clause that adds a new row's counts to the
// stored ones: atomic on both databases, so several writers (workers, nodes)
// can fold into the same minute.
var rollupUpsert = func() string {
	var b strings.Builder
	b.WriteString(" ON CONFLICT (org_id, minute, api_id, operation, application_id, status) DO UPDATE SET ")
	for i, c := range rollupColumns[7:] {
		if i > 0 {
			b.WriteString(", ")
		}
		if c == "latency_max_us" {
			b.WriteString("latency_max_us = CASE WHEN excluded.latency_max_us > analytics_rollups.latency_max_us THEN excluded.latency_max_us ELSE analytics_rollups.latency_max_us END")
			continue
		}
		fmt.Fprintf(&b, "%s = analytics_rollups.%s + excluded.%s", c, c, c)
	}
	return b.String()
}()

// rollupsPerStatement keeps an upsert under SQLite's 32766 parameters.
const rollupsPerStatement = 400

// writeBatch stores raw events and folds their rollups in one transaction, so
// a failed write can be retried whole without counting anything twice.
// rollups must be sorted by key: writers that lock rows in one order cannot
// deadlock each other. PostgreSQL gets COPY (copyBatch); SQLite multi-row
// inserts.
func (r repo) writeBatch(ctx context.Context, rows []eventRow, rollups []rollup) error {
	if r.st.Dialect() == store.Postgres {
		return r.copyBatch(ctx, rows, rollups)
	}
	return r.insertBatch(ctx, rows, rollups)
}

// insertBatch is writeBatch by multi-row INSERTs through GORM: SQLite's way
// (and PostgreSQL's before COPY, kept for the benchmark that compares them).
func (r repo) insertBatch(ctx context.Context, rows []eventRow, rollups []rollup) error {
	return r.st.InTx(ctx, func(ctx context.Context) error {
		if len(rows) > 0 {
			if err := r.st.DB(ctx).CreateInBatches(rows, 500).Error; err != nil {
				return wrap("insert events", err)
			}
		}
		return r.upsertRollups(ctx, rollups)
	})
}

func (r repo) upsertRollups(ctx context.Context, rollups []rollup) error {
	for start := 0; start < len(rollups); start += rollupsPerStatement {
		chunk := rollups[start:min(start+rollupsPerStatement, len(rollups))]
		var b strings.Builder
		b.WriteString("INSERT INTO analytics_rollups (")
		b.WriteString(strings.Join(rollupColumns, ", "))
		b.WriteString(") VALUES ")
		row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rollupColumns)), ", ") + ")"
		args := make([]any, 0, len(chunk)*len(rollupColumns))
		for i, ru := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(row)
			args = append(args, ru.OrgID, ru.APIID, ru.Operation, ru.ApplicationID, ru.Status, ru.Status/100, ru.Minute,
				ru.Count, ru.Errors, ru.LatencySumUS, ru.LatencyMaxUS, ru.BytesIn, ru.BytesOut, ru.BackendErrors)
			for _, h := range ru.Hist {
				args = append(args, h)
			}
		}
		b.WriteString(rollupUpsert)
		if err := r.st.DB(ctx).Exec(b.String(), args...).Error; err != nil {
			return wrap("upsert rollups", err)
		}
	}
	return nil
}

// fold turns a batch of events into rollups sorted by key.
func fold(rows []eventRow) []rollup {
	idx := make(map[rollupKey]int, len(rows)/4+1)
	var out []rollup
	for _, e := range rows {
		k := rollupKey{OrgID: e.OrgID, APIID: e.APIID, Operation: e.Operation, ApplicationID: e.ApplicationID,
			Status: e.Status, Minute: e.At.Truncate(time.Minute).Unix()}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, rollup{rollupKey: k})
		}
		out[i].add(e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j].rollupKey) })
	return out
}

func (k rollupKey) less(o rollupKey) bool {
	if k.OrgID != o.OrgID {
		return k.OrgID < o.OrgID
	}
	if k.Minute != o.Minute {
		return k.Minute < o.Minute
	}
	if k.APIID != o.APIID {
		return k.APIID < o.APIID
	}
	if k.Operation != o.Operation {
		return k.Operation < o.Operation
	}
	if k.ApplicationID != o.ApplicationID {
		return k.ApplicationID < o.ApplicationID
	}
	return k.Status < o.Status
}

// ---- queries ----

// filter selects rollups: one organisation, minutes in [From, To), and
// optionally one API, one application, or a developer's applications.
type filter struct {
	OrgID         string
	From, To      int64 // Unix seconds, minute-aligned
	APIID         string
	ApplicationID string
	OwnerID       string // when set, only applications this user owns
}

func (f filter) where() (string, []any) {
	w := "org_id = ? AND minute >= ? AND minute < ?"
	args := []any{f.OrgID, f.From, f.To}
	if f.APIID != "" {
		w += " AND api_id = ?"
		args = append(args, f.APIID)
	}
	if f.ApplicationID != "" {
		w += " AND application_id = ?"
		args = append(args, f.ApplicationID)
	}
	if f.OwnerID != "" {
		w += " AND application_id IN (SELECT id FROM applications WHERE org_id = ? AND owner_id = ?)"
		args = append(args, f.OrgID, f.OwnerID)
	}
	return w, args
}

// aggRow is the sum of the rollups of one group.
type aggRow struct {
	Key                                                             string
	Requests, Errors, LatencySumUS, LatencyMaxUS, BytesIn, BytesOut int64
	BackendErrors                                                   int64
	Hist                                                            Histogram
}

// Groupings aggregate can sum by. Each is a fixed SQL expression.
type grouping int

const (
	groupNone grouping = iota
	groupAPI
	groupApplication
	groupStatus
	groupOperation
)

func (g grouping) expr() string {
	switch g {
	case groupAPI:
		return "api_id"
	case groupApplication:
		return "application_id"
	case groupStatus:
		return "CAST(status AS TEXT)"
	case groupOperation:
		return "operation"
	}
	return ""
}

// aggregate sums the rollups f selects, by g (or by time bucket of step seconds
// when step > 0), most requests first (time order for buckets), at most limit
// groups (0: no limit).
//
// On PostgreSQL it runs in a read transaction with JIT and sorting turned off
// for it alone. The planner guesses the groups of minute/step from minute's
// distinct values (tens of thousands) and so sorts the wide rollup rows,
// spilling them to disk, where a hash of the few real groups (at most
// MaxPoints, or one per API or application) is 2-3 times faster; and JIT
// compiling the fifty sums costs more than it saves at these sizes (see
// BenchmarkDashboardPostgres).
func (r repo) aggregate(ctx context.Context, f filter, g grouping, step int64, limit int) ([]aggRow, error) {
	if r.st.Dialect() != store.Postgres || store.InTx(ctx) {
		return r.aggregateRows(ctx, f, g, step, limit)
	}
	var out []aggRow
	err := r.st.ReadTx(ctx, func(ctx context.Context) error {
		if err := r.st.DB(ctx).Exec("SELECT set_config('jit', 'off', true), set_config('enable_sort', 'off', true)").Error; err != nil {
			return wrap("aggregate: settings", err)
		}
		var err error
		out, err = r.aggregateRows(ctx, f, g, step, limit)
		return err
	})
	return out, err
}

func (r repo) aggregateRows(ctx context.Context, f filter, g grouping, step int64, limit int) ([]aggRow, error) {
	key, order := g.expr(), "requests DESC, k"
	if step > 0 {
		// step is one of a few constants, never user text.
		key, order = fmt.Sprintf("CAST((minute / %d) * %d AS TEXT)", step, step), "MIN(minute)"
	}
	var b strings.Builder
	if key == "" {
		b.WriteString("SELECT '' AS k")
	} else {
		b.WriteString("SELECT " + key + " AS k")
	}
	b.WriteString(", COALESCE(CAST(SUM(count) AS BIGINT), 0) AS requests, COALESCE(CAST(SUM(errors) AS BIGINT), 0)")
	b.WriteString(", COALESCE(CAST(SUM(latency_sum_us) AS BIGINT), 0), COALESCE(MAX(latency_max_us), 0)")
	b.WriteString(", COALESCE(CAST(SUM(bytes_in) AS BIGINT), 0), COALESCE(CAST(SUM(bytes_out) AS BIGINT), 0)")
	b.WriteString(", COALESCE(CAST(SUM(backend_errors) AS BIGINT), 0)")
	for i := 0; i < Buckets; i++ {
		fmt.Fprintf(&b, ", COALESCE(CAST(SUM(h%02d) AS BIGINT), 0)", i)
	}
	where, args := f.where()
	b.WriteString(" FROM analytics_rollups WHERE " + where)
	if key != "" {
		b.WriteString(" GROUP BY " + key + " ORDER BY " + order)
		if limit > 0 {
			fmt.Fprintf(&b, " LIMIT %d", limit)
		}
	}
	rows, err := r.st.DB(ctx).Raw(b.String(), args...).Rows()
	if err != nil {
		return nil, wrap("aggregate", err)
	}
	defer rows.Close()
	var out []aggRow
	for rows.Next() {
		var a aggRow
		dest := []any{&a.Key, &a.Requests, &a.Errors, &a.LatencySumUS, &a.LatencyMaxUS, &a.BytesIn, &a.BytesOut, &a.BackendErrors}
		for i := range a.Hist {
			dest = append(dest, &a.Hist[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, wrap("aggregate", err)
		}
		out = append(out, a)
	}
	return out, wrap("aggregate", rows.Err())
}

// applicationOwner returns the owner of an application of the organisation.
func (r repo) applicationOwner(ctx context.Context, orgID, id string) (string, error) {
	var owners []string
	err := r.st.DB(ctx).Raw("SELECT owner_id FROM applications WHERE org_id = ? AND id = ?", orgID, id).Scan(&owners).Error
	if err != nil {
		return "", wrap("application", err)
	}
	if len(owners) == 0 {
		return "", apperr.NotFound("application")
	}
	return owners[0], nil
}

// apiExists reports whether the organisation has an API with this id.
func (r repo) apiExists(ctx context.Context, orgID, id string) (bool, error) {
	var n int64
	err := r.st.DB(ctx).Raw("SELECT COUNT(*) FROM apis WHERE org_id = ? AND id = ?", orgID, id).Scan(&n).Error
	return n > 0, wrap("api", err)
}

// names returns display names by id from the apis ("name version") or
// applications table, for ids of the organisation.
func (r repo) names(ctx context.Context, orgID string, table string, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var q string
	switch table {
	case "apis":
		q = "SELECT id, name || ' ' || version AS name FROM apis WHERE org_id = ? AND id IN ?"
	case "applications":
		q = "SELECT id, name FROM applications WHERE org_id = ? AND id IN ?"
	default:
		return nil, fmt.Errorf("analytics: names of %q", table)
	}
	var rows []struct{ ID, Name string }
	if err := r.st.DB(ctx).Raw(q, orgID, ids).Scan(&rows).Error; err != nil {
		return nil, wrap("names", err)
	}
	for _, x := range rows {
		out[x.ID] = x.Name
	}
	return out, nil
}

// quotaSubscription is an active subscription on a tier with a request quota.
type quotaSubscription struct {
	ID, ApplicationID, APIID, Tier string
	Requests                       int64
	Per                            string
	ApplicationName, APIName       string
}

// quotaSubscriptions lists the active subscriptions of the organisation's APIs
// (or of one API) whose tier limits requests per one of periods.
func (r repo) quotaSubscriptions(ctx context.Context, orgID, apiID string, periods []string) ([]quotaSubscription, error) {
	q := `SELECT s.id, s.application_id, s.api_id, s.tier, t.requests, t.per,
			COALESCE(a.name, '') AS application_name, p.name || ' ' || p.version AS api_name
		FROM subscriptions s
		JOIN apis p ON p.id = s.api_id
		JOIN tiers t ON t.org_id = p.org_id AND t.name = s.tier
		LEFT JOIN applications a ON a.id = s.application_id
		WHERE p.org_id = ? AND s.status = 'ACTIVE' AND t.requests > 0 AND t.per IN ?`
	args := []any{orgID, periods}
	if apiID != "" {
		q += " AND s.api_id = ?"
		args = append(args, apiID)
	}
	var out []quotaSubscription
	err := r.st.DB(ctx).Raw(q+" ORDER BY s.id", args...).Scan(&out).Error
	return out, wrap("quota subscriptions", err)
}

// pairKey is an API and an application: what a subscription's calls are
// rolled up by.
type pairKey struct{ APIID, ApplicationID string }

// quotaUsage sums the calls of each API and application in minutes [from, to)
// that count against a quota: all but those answered 403 or 429.
func (r repo) quotaUsage(ctx context.Context, orgID, apiID string, from, to int64) (map[pairKey]int64, error) {
	q := `SELECT api_id, application_id, COALESCE(CAST(SUM(count) AS BIGINT), 0) AS n FROM analytics_rollups
		WHERE org_id = ? AND minute >= ? AND minute < ? AND application_id <> '' AND status NOT IN (403, 429)`
	args := []any{orgID, from, to}
	if apiID != "" {
		q += " AND api_id = ?"
		args = append(args, apiID)
	}
	var rows []struct {
		APIID         string `gorm:"column:api_id"`
		ApplicationID string
		N             int64
	}
	if err := r.st.DB(ctx).Raw(q+" GROUP BY api_id, application_id", args...).Scan(&rows).Error; err != nil {
		return nil, wrap("quota usage", err)
	}
	out := make(map[pairKey]int64, len(rows))
	for _, x := range rows {
		out[pairKey{x.APIID, x.ApplicationID}] = x.N
	}
	return out, nil
}

// ---- retention ----

// deleteEventsBefore deletes up to batch raw events older than cutoff.
func (r repo) deleteEventsBefore(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	q := "DELETE FROM analytics_events WHERE rowid IN (SELECT rowid FROM analytics_events WHERE at < ? LIMIT ?)"
	if r.st.Dialect() == store.Postgres {
		// Daily partitions are dropped whole (dropPartitionsBefore); what is left
		// lives in the default partition.
		q = "DELETE FROM analytics_partitions.events_default WHERE ctid IN (SELECT ctid FROM analytics_partitions.events_default WHERE at < ? LIMIT ?)"
	}
	res := r.st.DB(ctx).Exec(q, cutoff.UTC(), batch)
	return res.RowsAffected, wrap("delete events", res.Error)
}

// deleteRollupsBefore deletes up to batch rollups of minutes before cutoff.
func (r repo) deleteRollupsBefore(ctx context.Context, cutoff int64, batch int) (int64, error) {
	q := "DELETE FROM analytics_rollups WHERE rowid IN (SELECT rowid FROM analytics_rollups WHERE minute < ? LIMIT ?)"
	if r.st.Dialect() == store.Postgres {
		q = "DELETE FROM analytics_rollups WHERE ctid IN (SELECT ctid FROM analytics_rollups WHERE minute < ? LIMIT ?)"
	}
	res := r.st.DB(ctx).Exec(q, cutoff, batch)
	return res.RowsAffected, wrap("delete rollups", res.Error)
}

// partitionName is the daily partition holding day (UTC).
func partitionName(day time.Time) string { return "events_" + day.UTC().Format("20060102") }

// ensurePartition creates the daily partition for day on PostgreSQL. If the
// default partition already holds rows of that day, PostgreSQL refuses: the
// rows stay in the default partition and the error is returned for the log.
func (r repo) ensurePartition(ctx context.Context, day time.Time) error {
	if r.st.Dialect() != store.Postgres {
		return nil
	}
	from := day.UTC().Truncate(24 * time.Hour)
	q := fmt.Sprintf("CREATE TABLE IF NOT EXISTS analytics_partitions.%s PARTITION OF analytics_events FOR VALUES FROM ('%s') TO ('%s')",
		partitionName(from), from.Format("2006-01-02"), from.AddDate(0, 0, 1).Format("2006-01-02"))
	return wrap("create partition", r.st.DB(ctx).Exec(q).Error)
}

// dropPartitionsBefore drops the daily partitions that end at or before cutoff
// and returns how many.
func (r repo) dropPartitionsBefore(ctx context.Context, cutoff time.Time) (int, error) {
	if r.st.Dialect() != store.Postgres {
		return 0, nil
	}
	var names []string
	err := r.st.DB(ctx).Raw(`SELECT c.relname FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_class p ON p.oid = i.inhparent
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE p.relname = 'analytics_events' AND n.nspname = 'analytics_partitions' AND c.relname LIKE 'events\_%'`).Scan(&names).Error
	if err != nil {
		return 0, wrap("list partitions", err)
	}
	dropped := 0
	for _, name := range names {
		day, err := time.Parse("20060102", strings.TrimPrefix(name, "events_"))
		if err != nil {
			continue // events_default, or not ours
		}
		if day.AddDate(0, 0, 1).After(cutoff) {
			continue
		}
		if err := r.st.DB(ctx).Exec("DROP TABLE IF EXISTS analytics_partitions." + name).Error; err != nil {
			return dropped, wrap("drop partition", err)
		}
		dropped++
	}
	return dropped, nil
}

// ---- alert rules ----

func (r repo) createRule(ctx context.Context, rule *Rule) error {
	return wrap("create rule", r.st.DB(ctx).Create(rule).Error)
}

func (r repo) rule(ctx context.Context, orgID, id string) (Rule, error) {
	var rule Rule
	err := r.st.DB(ctx).Where("org_id = ? AND id = ?", orgID, id).Take(&rule).Error
	if store.IsNotFound(err) {
		return rule, ErrRuleNotFound
	}
	return rule, wrap("rule", err)
}

func (r repo) listRules(ctx context.Context, orgID, after string, limit int) ([]Rule, error) {
	var rules []Rule
	q := r.st.DB(ctx).Where("org_id = ?", orgID)
	if after != "" {
		q = q.Where("id > ?", after)
	}
	err := q.Order("id").Limit(limit).Find(&rules).Error
	return rules, wrap("list rules", err)
}

func (r repo) enabledRules(ctx context.Context) ([]Rule, error) {
	var rules []Rule
	err := r.st.DB(ctx).Where("enabled = ?", true).Order("id").Find(&rules).Error
	return rules, wrap("enabled rules", err)
}

func (r repo) deleteRule(ctx context.Context, orgID, id string) error {
	res := r.st.DB(ctx).Where("org_id = ? AND id = ?", orgID, id).Delete(&Rule{})
	if res.Error != nil {
		return wrap("delete rule", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrRuleNotFound
	}
	return nil
}

// setFiring moves a rule from !firing to firing (or back) and reports whether
// this call made the move: of several nodes evaluating at once, one notifies.
func (r repo) setFiring(ctx context.Context, id string, firing bool, value float64, detail string, at time.Time) (bool, error) {
	res := r.st.DB(ctx).Model(&Rule{}).Where("id = ? AND firing = ?", id, !firing).
		Updates(map[string]any{"firing": firing, "last_value": value, "last_detail": detail, "last_evaluated_at": at, "updated_at": at})
	return res.RowsAffected == 1, wrap("set firing", res.Error)
}

func (r repo) touchRule(ctx context.Context, id string, value float64, detail string, at time.Time) error {
	return wrap("touch rule", r.st.DB(ctx).Model(&Rule{}).Where("id = ?", id).
		Updates(map[string]any{"last_value": value, "last_detail": detail, "last_evaluated_at": at}).Error)
}

func (r repo) addAlertEvent(ctx context.Context, e *AlertEvent) error {
	return wrap("alert event", r.st.DB(ctx).Create(e).Error)
}

func (r repo) setNotified(ctx context.Context, id, notified string) error {
	return wrap("alert event", r.st.DB(ctx).Model(&AlertEvent{}).Where("id = ?", id).Update("notified", notified).Error)
}

func (r repo) history(ctx context.Context, orgID, ruleID string, limit int) ([]AlertEvent, error) {
	var out []AlertEvent
	q := r.st.DB(ctx).Where("org_id = ?", orgID)
	if ruleID != "" {
		q = q.Where("rule_id = ?", ruleID)
	}
	err := q.Order("at DESC, id DESC").Limit(limit).Find(&out).Error
	return out, wrap("history", err)
}
