package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// allowScript admits a call when the window's count is below the limit, and
// counts only admitted calls (a refusal consumes nothing). The key expires when
// its window ends. One round trip, atomic on the Redis server.
var allowScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local limit = tonumber(ARGV[1])
if n >= limit then return {0, n} end
n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
return {1, n}
`)

// undoScript gives one call back, never below zero.
var undoScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 0
`)

// RedisOptions configure a Redis limiter.
type RedisOptions struct {
	// Prefix namespaces the keys (several installations can share a Redis).
	Prefix string
	// Nodes is how many gateway nodes share the limits; while Redis is down each
	// node admits limit/Nodes on its own, so together they stay near the limit.
	Nodes int
	// RetryAfter is how long to stay on local limits after a Redis failure
	// before trying Redis again.
	RetryAfter time.Duration
	Log        *slog.Logger
	// OnFallback, when set, is called on every call decided locally (a metric).
	OnFallback func()
}

// Redis is a Limiter shared by every node through one Redis. When Redis fails it
// falls back to a Local limiter with the limit divided by Nodes, logs once, and
// returns to Redis when it answers again.
type Redis struct {
	client redis.UniversalClient
	opts   RedisOptions
	local  *Local
	// downUntil (unix nanos) is when to try Redis again; 0 while healthy.
	downUntil atomic.Int64
	logMu     sync.Mutex
	down      bool
}

// NewRedis returns a limiter over client.
func NewRedis(client redis.UniversalClient, opts RedisOptions) *Redis {
	if opts.Nodes < 1 {
		opts.Nodes = 1
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.Prefix == "" {
		opts.Prefix = "portico:rl:"
	}
	return &Redis{client: client, opts: opts, local: NewLocal()}
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, limit int64, start, end time.Time) (Result, error) {
	now := time.Now().UnixNano()
	if until := r.downUntil.Load(); until != 0 && now < until {
		return r.fallback(ctx, key, limit, start, end)
	}
	k := r.key(key, start)
	vals, err := allowScript.Run(ctx, r.client, []string{k}, limit, end.UnixMilli()).Int64Slice()
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			return Result{}, err // the caller went away; not Redis's fault
		}
		r.markDown(err)
		return r.fallback(ctx, key, limit, start, end)
	}
	r.markUp()
	allowed, n := vals[0] == 1, vals[1]
	rem := limit - n
	if rem < 0 || !allowed {
		rem = 0
	}
	return Result{Allowed: allowed, Limit: limit, Remaining: rem, Reset: end}, nil
}

func (r *Redis) key(key string, start time.Time) string {
	return r.opts.Prefix + key + ":" + strconv.FormatInt(start.UnixMilli(), 36)
}

// Undo implements Limiter.
func (r *Redis) Undo(ctx context.Context, key string, start time.Time) error {
	if until := r.downUntil.Load(); until != 0 && time.Now().UnixNano() < until {
		return r.local.Undo(ctx, key, start)
	}
	if err := undoScript.Run(ctx, r.client, []string{r.key(key, start)}).Err(); err != nil && !errors.Is(err, redis.Nil) {
		r.markDown(err)
		return r.local.Undo(ctx, key, start)
	}
	return nil
}

func (r *Redis) fallback(ctx context.Context, key string, limit int64, start, end time.Time) (Result, error) {
	if r.opts.OnFallback != nil {
		r.opts.OnFallback()
	}
	share := limit / int64(r.opts.Nodes)
	if share < 1 {
		share = 1
	}
	res, err := r.local.Allow(ctx, key, share, start, end)
	res.Limit = limit
	return res, err
}

func (r *Redis) markDown(err error) {
	r.downUntil.Store(time.Now().Add(r.opts.RetryAfter).UnixNano())
	r.logMu.Lock()
	defer r.logMu.Unlock()
	if !r.down && r.opts.Log != nil {
		r.opts.Log.Warn("Redis is unreachable; rate limits are enforced per node until it returns",
			"err", err, "per_node_share", "1/"+strconv.Itoa(r.opts.Nodes))
	}
	r.down = true
}

func (r *Redis) markUp() {
	if r.downUntil.Load() == 0 {
		return
	}
	r.downUntil.Store(0)
	r.logMu.Lock()
	defer r.logMu.Unlock()
	if r.down && r.opts.Log != nil {
		r.opts.Log.Info("Redis is back; rate limits are shared again")
	}
	r.down = false
}
