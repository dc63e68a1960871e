package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_REDIS_URL is not set: `make test` starts Redis and sets it")
		}
		t.Skip("TEST_REDIS_URL not set; run `make test`")
	}
	return u
}

func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1 // a dead server must fail fast, not retry
	opt.DialTimeout = 200 * time.Millisecond
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// TestThreeNodesAdmitExactlyTheLimit: three limiters, each with its own Redis
// connection pool like three gateway nodes, under hundreds of goroutines.
func TestThreeNodesAdmitExactlyTheLimit(t *testing.T) {
	url := redisURL(t)
	prefix := fmt.Sprintf("test:%d:", time.Now().UnixNano())
	var nodes []*Redis
	for i := 0; i < 3; i++ {
		nodes = append(nodes, NewRedis(client(t, url), RedisOptions{Prefix: prefix, Nodes: 3}))
	}
	start, end := Window("minute", time.Now())
	const limit = 300
	var passed, fallbacks atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 300; g++ {
		wg.Add(1)
		go func(n *Redis) {
			defer wg.Done()
			for i := 0; i < 3; i++ {
				r, err := n.Allow(context.Background(), "sub-x", limit, start, end)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					passed.Add(1)
				}
			}
		}(nodes[g%3])
	}
	wg.Wait()
	for _, n := range nodes {
		if n.downUntil.Load() != 0 {
			fallbacks.Add(1)
		}
	}
	if fallbacks.Load() != 0 {
		t.Fatal("a node fell back to local limits against a healthy Redis")
	}
	if passed.Load() != limit {
		t.Fatalf("%d calls passed across three nodes, want exactly %d", passed.Load(), limit)
	}
	r, _ := nodes[0].Allow(context.Background(), "sub-x", limit+10, start, end)
	if !r.Allowed || r.Remaining != 9 {
		t.Fatalf("refusals were counted: %+v", r)
	}
	if err := nodes[1].Undo(context.Background(), "sub-x", start); err != nil {
		t.Fatal(err)
	}
	if r, _ := nodes[2].Allow(context.Background(), "sub-x", limit+10, start, end); r.Remaining != 9 {
		t.Fatalf("undo through another node: %+v", r)
	}
}

// TestRedisDyingMidRun kills a Redis of the test's own while calls flow: calls
// keep being decided (locally), nothing panics, and once Redis is back the
// shared count takes over again.
func TestRedisDyingMidRun(t *testing.T) {
	bin := os.Getenv("TEST_REDIS_SERVER_BIN")
	if bin == "" {
		if p, err := exec.LookPath("redis-server"); err == nil {
			bin = p
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server not found")
		}
		t.Skip("redis-server not found")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	startRedis := func() *exec.Cmd {
		cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				c.Close()
				return cmd
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("redis did not start")
		return nil
	}
	srv := startRedis()
	defer func() { srv.Process.Kill(); srv.Wait() }()

	var logs strings.Builder
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logs.Write(p)
	}), nil))
	var fellBack atomic.Int64
	l := NewRedis(client(t, fmt.Sprintf("redis://127.0.0.1:%d/0", port)), RedisOptions{Nodes: 2, RetryAfter: 100 * time.Millisecond, Log: log, OnFallback: func() { fellBack.Add(1) }})
	start, end := Window("hour", time.Now())
	call := func() Result {
		r, err := l.Allow(context.Background(), "k", 1000, start, end)
		if err != nil {
			t.Fatalf("a call failed instead of falling back: %v", err)
		}
		return r
	}
	for i := 0; i < 10; i++ {
		call()
	}
	srv.Process.Kill()
	srv.Wait()
	for i := 0; i < 50; i++ {
		if r := call(); !r.Allowed {
			t.Fatalf("local fallback refused call %d: %+v", i, r)
		}
	}
	if fellBack.Load() == 0 {
		t.Fatal("no call was decided locally while Redis was down")
	}
	srv = startRedis() // empty: a new server lost the old counts
	time.Sleep(150 * time.Millisecond)
	var r Result
	for i := 0; i < 20 && !(r.Allowed && r.Remaining == 999); i++ {
		r = call()
		time.Sleep(20 * time.Millisecond)
	}
	if r.Remaining != 999 && r.Remaining != 998 {
		t.Fatalf("shared counting did not resume: %+v", r)
	}
	logMu.Lock()
	out := logs.String()
	logMu.Unlock()
	if strings.Count(out, "Redis is unreachable") != 1 || !strings.Contains(out, "Redis is back") {
		t.Fatalf("expected one outage line and one recovery line:\n%s", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func BenchmarkRedisAllow(b *testing.B) {
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		b.Skip("TEST_REDIS_URL not set")
	}
	opt, _ := redis.ParseURL(u)
	c := redis.NewClient(opt)
	defer c.Close()
	l := NewRedis(c, RedisOptions{Prefix: fmt.Sprintf("bench:%d:", time.Now().UnixNano())})
	s, e := Window("hour", time.Now())
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Allow(context.Background(), "sub-bench", 1<<62, s, e)
		}
	})
}
