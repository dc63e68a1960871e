package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"portico/internal/platform/metering"
	"portico/internal/store"
)

// SinkOptions size the sink. Zero values take the defaults.
type SinkOptions struct {
	// Buffer is how many events may wait to be written (default 100 000, about
	// 15 MB): while the database is down this is what survives.
	Buffer int
	// BatchSize is how many events a worker writes at once (default 1000).
	BatchSize int
	// Interval is the longest an event waits before its batch is written
	// (default 1 s).
	Interval time.Duration
	// Workers is how many goroutines write batches (default 2).
	Workers int
	// RetryMax caps the wait between attempts while the database fails (default 5 s).
	RetryMax time.Duration
}

func (o SinkOptions) withDefaults() SinkOptions {
	if o.Buffer <= 0 {
		o.Buffer = 100_000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Second
	}
	return o
}

// poisonAttempts is how many times a batch is retried while the database
// answers pings before it is judged unwritable and dropped (counted).
const poisonAttempts = 5

// Sink receives the gateway's metering events and writes them in batches, with
// their rollups. Record never blocks: when the buffer is full the event is
// dropped and counted in portico_analytics_dropped_total. While the database
// is down, workers keep retrying their batch and stop taking events, so the
// buffer fills up to its bound and drains when the database returns.
type Sink struct {
	repo    repo
	log     *slog.Logger
	opts    SinkOptions
	ch      chan metering.Event
	flush   []chan chan struct{} // one per worker
	closing chan struct{}        // closed by Close: drain and stop
	abort   chan struct{}        // closed when Close gives up: stop retrying
	closed  atomic.Bool
	started atomic.Bool
	wg      sync.WaitGroup
	once    sync.Once

	// days holds the UTC days whose partition exists (PostgreSQL), so
	// workers ask for each day once.
	daysMu sync.Mutex
	days   map[int64]bool

	dropped prometheus.Counter
	written prometheus.Counter
	failed  prometheus.Counter
}

// NewSink returns a sink writing to st; its metrics are registered on reg.
// Call Start to run its workers and Close to flush them.
func NewSink(st *store.Store, reg prometheus.Registerer, log *slog.Logger, opts SinkOptions) (*Sink, error) {
	opts = opts.withDefaults()
	s := &Sink{
		repo: repo{st}, log: log, opts: opts,
		ch:      make(chan metering.Event, opts.Buffer),
		closing: make(chan struct{}),
		days:    map[int64]bool{},
		abort:   make(chan struct{}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "portico_analytics_dropped_total",
			Help: "Metering events dropped: the analytics buffer was full, the sink closed, or the database refused a batch."}),
		written: prometheus.NewCounter(prometheus.CounterOpts{Name: "portico_analytics_events_written_total",
			Help: "Metering events written to the database."}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{Name: "portico_analytics_write_failures_total",
			Help: "Batch writes that failed and were retried."}),
	}
	for _, c := range []prometheus.Collector{s.dropped, s.written, s.failed,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "portico_analytics_buffered_events",
			Help: "Metering events waiting in the analytics buffer."}, func() float64 { return float64(len(s.ch)) }),
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("analytics: register metrics: %w", err)
		}
	}
	s.flush = make([]chan chan struct{}, opts.Workers)
	for i := range s.flush {
		s.flush[i] = make(chan chan struct{})
	}
	return s, nil
}

// Record implements metering.Meter: a non-blocking send into the buffer.
func (s *Sink) Record(e metering.Event) {
	if s.closed.Load() {
		s.dropped.Inc()
		return
	}
	select {
	case s.ch <- e:
	default:
		s.dropped.Inc()
	}
}

// Buffered is how many events wait in the buffer.
func (s *Sink) Buffered() int { return len(s.ch) }

// Start runs the workers. They are not tied to a context: they stop when Close
// has written what was recorded, so events of requests still draining at
// shutdown are kept.
func (s *Sink) Start() {
	if !s.started.CompareAndSwap(false, true) {
		return
	}
	for i := 0; i < s.opts.Workers; i++ {
		s.wg.Add(1)
		go s.work(i)
	}
}

// Flush returns once every event recorded before the call is written, or when
// ctx ends (the events stay buffered and are written later).
func (s *Sink) Flush(ctx context.Context) error {
	if !s.started.Load() || s.closed.Load() {
		return errors.New("analytics: sink not running")
	}
	acks := make([]chan struct{}, len(s.flush))
	for i, f := range s.flush {
		acks[i] = make(chan struct{})
		select {
		case f <- acks[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, a := range acks {
		select {
		case <-a:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close stops taking events (later ones are dropped and counted), writes every
// buffered one and stops the workers. If ctx ends first, the workers give up
// and what was still buffered is counted as dropped.
func (s *Sink) Close(ctx context.Context) error {
	s.closed.Store(true)
	s.once.Do(func() { close(s.closing) })
	if !s.started.Load() {
		return nil
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		close(s.abort)
		<-done
		lost := len(s.ch)
		s.dropped.Add(float64(lost))
		return fmt.Errorf("analytics: close: %w (%d events not written)", ctx.Err(), lost)
	}
}

func (s *Sink) work(i int) {
	defer s.wg.Done()
	batch := make([]metering.Event, 0, s.opts.BatchSize)
	tick := time.NewTicker(s.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case e := <-s.ch:
			batch = append(batch, e)
			if len(batch) >= s.opts.BatchSize {
				batch = s.write(batch)
			}
		case <-tick.C:
			if len(batch) > 0 {
				batch = s.write(batch)
			}
		case ack := <-s.flush[i]:
			batch = s.drain(batch)
			close(ack)
		case <-s.closing:
			s.drain(batch)
			return
		}
	}
}

// drain writes batch and everything in the buffer now.
func (s *Sink) drain(batch []metering.Event) []metering.Event {
	for {
		select {
		case e := <-s.ch:
			batch = append(batch, e)
			if len(batch) >= s.opts.BatchSize {
				batch = s.write(batch)
			}
		default:
			if len(batch) > 0 {
				batch = s.write(batch)
			}
			return batch
		}
	}
}

// write stores batch, retrying with backoff while the database fails, and
// returns the emptied batch. A batch the database keeps refusing while it
// answers pings is dropped and counted, so one bad event cannot stall the sink.
func (s *Sink) write(batch []metering.Event) []metering.Event {
	rows := make([]eventRow, len(batch))
	for i, e := range batch {
		rows[i] = rowOf(e)
	}
	rollups := fold(rows)
	s.ensurePartitions(rows)
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.repo.writeBatch(ctx, rows, rollups)
		if err == nil {
			cancel()
			s.written.Add(float64(len(rows)))
			if attempt > 1 {
				s.log.Info("analytics: writing again", "attempts", attempt)
			}
			return batch[:0]
		}
		s.failed.Inc()
		pingErr := s.repo.st.Ping(ctx)
		cancel()
		if pingErr == nil && attempt >= poisonAttempts {
			s.log.Error("analytics: dropping a batch the database refuses", "events", len(rows), "err", err)
			s.dropped.Add(float64(len(rows)))
			return batch[:0]
		}
		if attempt == 1 || attempt%20 == 0 {
			s.log.Warn("analytics: batch write failed; retrying", "events", len(rows), "attempt", attempt, "buffered", len(s.ch), "err", err)
		}
		select {
		case <-time.After(wait):
		case <-s.abort:
			s.dropped.Add(float64(len(rows)))
			return batch[:0]
		}
		wait = min(wait*2, s.opts.RetryMax)
	}
}

// ensurePartitions creates the daily partitions (PostgreSQL) of the recent days
// rows fall in before they are written: an event of a day with no partition
// lands in the default one, which then blocks creating that day's.
func (s *Sink) ensurePartitions(rows []eventRow) {
	if s.repo.st.Dialect() != store.Postgres {
		return
	}
	now := time.Now().UTC()
	s.daysMu.Lock()
	defer s.daysMu.Unlock()
	for _, r := range rows {
		day := r.At.Truncate(24 * time.Hour)
		if s.days[day.Unix()] || day.Before(now.AddDate(0, 0, -2)) || day.After(now.AddDate(0, 0, 2)) {
			continue
		}
		s.days[day.Unix()] = true // once per day, created or not: the default partition catches the rest
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.repo.ensurePartition(ctx, day); err != nil {
			if s.repo.st.Ping(ctx) != nil {
				delete(s.days, day.Unix()) // the database is away: ask again next batch
			}
			s.log.Warn("analytics: daily partition not created; its events go to the default partition", "day", day.Format("2006-01-02"), "err", err)
		}
		cancel()
	}
}
