package analytics

import (
	"context"
	"time"
)

// retentionBatch is how many rows one delete removes: small enough that the
// table stays writable for the sink in between.
const retentionBatch = 5000

// Retain deletes raw events older than the raw retention and rollups older
// than the rollup retention, in batches, and on PostgreSQL drops expired daily
// partitions and creates the next days'. It returns how many rows went.
func (s *Service) Retain(ctx context.Context) (events, rollups int64, err error) {
	now := s.opts.Now()
	for d := 0; d < 3; d++ {
		if err := s.repo.ensurePartition(ctx, now.AddDate(0, 0, d)); err != nil {
			s.log.Debug("analytics: partition not created", "err", err)
		}
	}
	cutoff := now.Add(-s.opts.RawRetention)
	if _, err := s.repo.dropPartitionsBefore(ctx, cutoff); err != nil {
		return 0, 0, err
	}
	for {
		n, err := s.repo.deleteEventsBefore(ctx, cutoff, retentionBatch)
		events += n
		if err != nil || n < retentionBatch {
			if err != nil {
				return events, rollups, err
			}
			break
		}
	}
	rcut := now.Add(-s.opts.RollupRetention).Unix()
	for {
		n, err := s.repo.deleteRollupsBefore(ctx, rcut, retentionBatch)
		rollups += n
		if err != nil || n < retentionBatch {
			return events, rollups, err
		}
	}
}

// RunJanitor runs Retain at once and then every opts.JanitorEvery until ctx ends.
func (s *Service) RunJanitor(ctx context.Context) {
	t := time.NewTicker(s.opts.JanitorEvery)
	defer t.Stop()
	for {
		if ev, ru, err := s.Retain(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("analytics: retention failed", "err", err)
		} else if ev+ru > 0 {
			s.log.Info("analytics: retention", "events_deleted", ev, "rollups_deleted", ru)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
