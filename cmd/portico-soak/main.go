// Command portico-soak runs a real Portico process (`portico serve`) on
// PostgreSQL and Redis for a long time under mixed gateway traffic, with API
// keys, rate limits, OAuth and analytics on, and reports throughput every
// interval and the process's memory at the start and the end: `make soak`
// runs it (scripts/soak.sh starts the servers and builds Portico). It is not
// part of CI.
//
// The traffic, from a fixed number of connections in a closed loop:
//
//	key      API-key GET within a generous limit       → 200
//	limited  API-key GET on a 20/s tier, hit hard      → 200 or 429
//	post     API-key POST with a 1-4 KiB JSON body     → 200
//	token    OAuth client-credentials token request    → 200
//	bearer   GET with the access token                 → 200
//	unknown  a path no API has                         → 404
//	badkey   an API key Portico never issued           → 401
//
// At the end it compares the calls made with the analytics events written.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for the database and the analytics count
)

const (
	adminEmail    = "soak@example.com"
	adminPassword = "soak-password-0123456789"
)

// class is one kind of call in the mix.
type class struct {
	name   string
	weight int
	ok     func(status int) bool
	n      atomic.Int64
	bad    atomic.Int64 // answers outside ok
	status sync.Map     // status → *atomic.Int64
}

func main() {
	portico := flag.String("portico", "", "the portico binary to run (go build ./cmd/portico)")
	duration := flag.Duration("d", 10*time.Minute, "how long the traffic runs")
	every := flag.Duration("every", 30*time.Second, "report interval")
	conns := flag.Int("c", 8, "concurrent connections")
	flag.Parse()
	if *portico == "" {
		fmt.Fprintln(os.Stderr, "portico-soak: -portico is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *portico, *duration, *every, *conns); err != nil {
		fmt.Fprintln(os.Stderr, "portico-soak:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin string, duration, every time.Duration, conns int) error {
	pgURL, redisURL := os.Getenv("TEST_DATABASE_URL"), os.Getenv("TEST_REDIS_URL")
	if pgURL == "" || redisURL == "" {
		return errors.New("TEST_DATABASE_URL and TEST_REDIS_URL must be set (scripts/soak.sh sets them)")
	}
	dbURL, dropDB, err := newDatabase(ctx, pgURL)
	if err != nil {
		return err
	}
	defer dropDB()

	backend, err := startBackend()
	if err != nil {
		return err
	}
	defer backend.Close()

	port, err := freePort()
	if err != nil {
		return err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	logFile, err := os.CreateTemp("", "portico-soak-*.log")
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "DATABASE_URL="+dbURL, "REDIS_URL="+redisURL,
		"PORTICO_BASE_URL="+base, "PORTICO_SECRET=soak-secret-soak-secret-soak-secret-0123",
		"PORTICO_ADMIN_EMAIL="+adminEmail, "PORTICO_ADMIN_PASSWORD="+adminPassword, "LOG_LEVEL=warn")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start portico: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
			}
		}
	}()
	fmt.Printf("portico pid %d on %s (log %s), PostgreSQL %s, Redis %s\n", cmd.Process.Pid, base, logFile.Name(), redact(dbURL), redisURL)
	if err := waitReady(ctx, base, exited); err != nil {
		return err
	}

	f, err := setUp(base, backend.URL)
	if err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	// A change reaches the gateway within a second (CONTRACT §7).
	time.Sleep(2 * time.Second)

	classes := []*class{
		{name: "key", weight: 40, ok: is(200)},
		{name: "limited", weight: 10, ok: is(200, 429)},
		{name: "post", weight: 15, ok: is(200)},
		{name: "token", weight: 3, ok: is(200)},
		{name: "bearer", weight: 17, ok: is(200)},
		{name: "unknown", weight: 7, ok: is(404)},
		{name: "badkey", weight: 8, ok: is(401)},
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns * 2, DisableCompression: true}}
	bearer := &atomic.Pointer[string]{}
	tok, err := f.token(client)
	if err != nil {
		return fmt.Errorf("first token: %w", err)
	}
	bearer.Store(&tok)

	startRSS, _ := rss(cmd.Process.Pid)
	startMetrics := metrics(client, base)
	fmt.Printf("\nstart: RSS %s, heap in use %s, goroutines %.0f; %d connections for %s\n\n",
		mib(startRSS), mib(int64(startMetrics["go_memstats_heap_inuse_bytes"])), startMetrics["go_goroutines"], conns, duration)
	fmt.Printf("%8s %9s %9s %8s %9s %9s %11s  %s\n", "elapsed", "calls", "calls/s", "bad", "RSS", "heap", "goroutines", "per class (calls/s)")

	trafficCtx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			traffic(trafficCtx, client, base, f, classes, bearer, rand.New(rand.NewPCG(uint64(i), 42)))
		}()
	}
	ticker := time.NewTicker(every)
	began, last := time.Now(), time.Now()
	prev := make([]int64, len(classes))
	var prevTotal int64
	var firstRSS int64
report:
	for {
		select {
		case <-trafficCtx.Done():
			break report
		case err := <-exited:
			return fmt.Errorf("portico exited during the soak: %v (log %s)", err, logFile.Name())
		case now := <-ticker.C:
			var total, bad int64
			var parts []string
			secs := now.Sub(last).Seconds()
			for i, c := range classes {
				n := c.n.Load()
				total += n
				bad += c.bad.Load()
				parts = append(parts, fmt.Sprintf("%s %.0f", c.name, float64(n-prev[i])/secs))
				prev[i] = n
			}
			r, _ := rss(cmd.Process.Pid)
			if firstRSS == 0 {
				firstRSS = r
			}
			m := metrics(client, base)
			fmt.Printf("%8s %9d %9.0f %8d %9s %9s %11.0f  %s\n", now.Sub(began).Round(time.Second), total, float64(total-prevTotal)/secs, bad,
				mib(r), mib(int64(m["go_memstats_heap_inuse_bytes"])), m["go_goroutines"], strings.Join(parts, ", "))
			prevTotal, last = total, now
		}
	}
	ticker.Stop()
	wg.Wait()
	elapsed := time.Since(began)
	endRSS, _ := rss(cmd.Process.Pid)
	endMetrics := metrics(client, base)

	var total, bad, recorded int64
	fmt.Printf("\nafter %s:\n", elapsed.Round(time.Second))
	for _, c := range classes {
		n := c.n.Load()
		total += n
		bad += c.bad.Load()
		if c.name != "unknown" && c.name != "token" {
			recorded += n // calls that reached an API: each is an analytics event
		}
		fmt.Printf("  %-8s %9d calls, %6d unexpected; statuses %s\n", c.name, n, c.bad.Load(), statuses(c))
	}
	fmt.Printf("  total    %9d calls, %.0f/s on average, %d unexpected\n", total, float64(total)/elapsed.Seconds(), bad)
	fmt.Printf("RSS: start %s, after the first interval %s, end %s; heap in use %s → %s; goroutines %.0f → %.0f\n",
		mib(startRSS), mib(firstRSS), mib(endRSS), mib(int64(startMetrics["go_memstats_heap_inuse_bytes"])),
		mib(int64(endMetrics["go_memstats_heap_inuse_bytes"])), startMetrics["go_goroutines"], endMetrics["go_goroutines"])

	// SIGTERM flushes the analytics buffer; then every call should be a row.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	stopAt := time.Now()
	select {
	case err := <-exited:
		fmt.Printf("portico stopped in %s after SIGTERM (%v)\n", time.Since(stopAt).Round(time.Millisecond), err)
	case <-time.After(40 * time.Second):
		_ = cmd.Process.Kill()
		return errors.New("portico did not exit within 40 s of SIGTERM")
	}
	events, byStatus, err := analyticsCount(dbURL)
	if err != nil {
		return err
	}
	fmt.Printf("analytics: %d calls reached the API (all but unknown paths and token requests), %d events written (%s); %+d\n",
		recorded, events, byStatus, events-recorded)
	return nil
}

func is(codes ...int) func(int) bool {
	return func(s int) bool {
		for _, c := range codes {
			if s == c {
				return true
			}
		}
		return false
	}
}

// fixture is what set-up made: keys, the OAuth client, the API's gateway path.
type fixture struct {
	base, path             string
	key, limitedKey        string
	clientID, clientSecret string
}

// traffic sends calls drawn from the mix until ctx ends.
func traffic(ctx context.Context, client *http.Client, base string, f *fixture, classes []*class, bearer *atomic.Pointer[string], rng *rand.Rand) {
	sum := 0
	for _, c := range classes {
		sum += c.weight
	}
	for ctx.Err() == nil {
		pick := rng.IntN(sum)
		var c *class
		for _, c = range classes {
			if pick < c.weight {
				break
			}
			pick -= c.weight
		}
		var req *http.Request
		switch c.name {
		case "key", "limited", "badkey":
			req, _ = http.NewRequestWithContext(ctx, http.MethodGet, f.base+f.path+"/items/"+strconv.Itoa(rng.IntN(1000)), nil)
			req.Header.Set("apikey", map[string]string{"key": f.key, "limited": f.limitedKey, "badkey": "not-a-key-" + strconv.Itoa(rng.IntN(1e6))}[c.name])
		case "post":
			n := 1024 + rng.IntN(3072)
			payload := fmt.Sprintf(`{"n":%d,"pad":"%s"}`, n, strings.Repeat("x", n-32))
			req, _ = http.NewRequestWithContext(ctx, http.MethodPost, f.base+f.path+"/items", bytes.NewReader([]byte(payload)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("apikey", f.key)
		case "token":
			t, status, err := f.tokenStatus(ctx, client)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				status = 0
			} else if status == http.StatusOK {
				bearer.Store(&t)
			}
			count(c, status)
			continue
		case "bearer":
			req, _ = http.NewRequestWithContext(ctx, http.MethodGet, f.base+f.path+"/items", nil)
			req.Header.Set("Authorization", "Bearer "+*bearer.Load())
		case "unknown":
			req, _ = http.NewRequestWithContext(ctx, http.MethodGet, f.base+"/no-such-api-"+strconv.Itoa(rng.IntN(100))+"/v1/x", nil)
		}
		resp, err := client.Do(req)
		if ctx.Err() != nil {
			return
		}
		status := 0
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
		}
		count(c, status)
	}
}

func count(c *class, status int) {
	c.n.Add(1)
	if !c.ok(status) {
		c.bad.Add(1)
	}
	v, _ := c.status.LoadOrStore(status, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func statuses(c *class) string {
	var parts []string
	c.status.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%d:%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// setUp makes, through the management API, a published API in front of the
// backend offering a generous and a 20/s tier, two applications subscribed
// one on each, their API keys and the OAuth client of the first.
func setUp(base, backendURL string) (*fixture, error) {
	var tok struct{ Token string }
	if err := call(base, "", "POST", "/api/v1/tokens", map[string]string{"email": adminEmail, "password": adminPassword}, 201, &tok); err != nil {
		return nil, err
	}
	a := tok.Token
	for _, tier := range []map[string]any{
		{"name": "SoakHigh", "requests": 1_000_000, "per": "second"},
		{"name": "SoakLimited", "requests": 20, "per": "second"},
	} {
		if err := call(base, a, "POST", "/api/v1/tiers", tier, 201, nil); err != nil {
			return nil, err
		}
	}
	var api struct{ ID, Context, Version string }
	if err := call(base, a, "POST", "/api/v1/apis", map[string]any{"name": "Soak", "context": "soak", "version": "v1",
		"backend_url": backendURL, "auth": []string{"api_key", "oauth2"}, "tiers": []string{"SoakHigh", "SoakLimited"}}, 201, &api); err != nil {
		return nil, err
	}
	if err := call(base, a, "POST", "/api/v1/apis/"+api.ID+"/lifecycle", map[string]string{"action": "publish"}, 200, nil); err != nil {
		return nil, err
	}
	f := &fixture{base: base, path: "/soak/v1"}
	for _, app := range []struct {
		name, tier string
		key        *string
	}{{"soak-main", "SoakHigh", &f.key}, {"soak-limited", "SoakLimited", &f.limitedKey}} {
		var ap struct {
			ID           string `json:"id"`
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		if err := call(base, a, "POST", "/api/v1/applications", map[string]string{"name": app.name}, 201, &ap); err != nil {
			return nil, err
		}
		var key struct{ Key string }
		if err := call(base, a, "POST", "/api/v1/applications/"+ap.ID+"/keys", nil, 201, &key); err != nil {
			return nil, err
		}
		*app.key = key.Key
		var sub struct{ Status string }
		if err := call(base, a, "POST", "/api/v1/subscriptions", map[string]string{"application_id": ap.ID, "api_id": api.ID, "tier": app.tier}, 201, &sub); err != nil {
			return nil, err
		}
		if sub.Status != "ACTIVE" {
			return nil, fmt.Errorf("subscription of %s is %s", app.name, sub.Status)
		}
		if f.clientID == "" {
			f.clientID, f.clientSecret = ap.ClientID, ap.ClientSecret
		}
	}
	return f, nil
}

func (f *fixture) token(client *http.Client) (string, error) {
	t, status, err := f.tokenStatus(context.Background(), client)
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("token request answered %d", status)
	}
	return t, err
}

// tokenStatus asks for a client-credentials token.
func (f *fixture) tokenStatus(ctx context.Context, client *http.Client) (string, int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.base+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(f.clientID), url.QueryEscape(f.clientSecret))
	resp, err := client.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return "", resp.StatusCode, nil
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", resp.StatusCode, fmt.Errorf("token answer: %v", err)
	}
	return out.AccessToken, resp.StatusCode, nil
}

// call does one management API call and decodes the answer into out.
func call(base, token, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// startBackend is the API's backend: it reads the body and answers small JSON.
func startBackend() (*httpServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	body := []byte(`{"message":"hello from the backend"}`)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(ln) }()
	return &httpServer{srv: srv, URL: "http://" + ln.Addr().String()}, nil
}

type httpServer struct {
	srv *http.Server
	URL string
}

func (s *httpServer) Close() { _ = s.srv.Close() }

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(ctx context.Context, base string, exited <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("portico exited at start: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("portico not ready within 60 s")
}

// newDatabase creates a fresh PostgreSQL database for this run on the server
// of admin, and a function dropping it.
func newDatabase(ctx context.Context, admin string) (string, func(), error) {
	db, err := sql.Open("pgx", admin)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("portico_soak_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		db.Close()
	}, nil
}

// analyticsCount counts the raw analytics events, in all and by status.
func analyticsCount(dbURL string) (int64, string, error) {
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return 0, "", err
	}
	defer db.Close()
	rows, err := db.Query(`SELECT status, count(*) FROM analytics_events GROUP BY status ORDER BY status`)
	if err != nil {
		return 0, "", fmt.Errorf("count analytics events: %w", err)
	}
	defer rows.Close()
	var total int64
	var parts []string
	for rows.Next() {
		var status, n int64
		if err := rows.Scan(&status, &n); err != nil {
			return 0, "", err
		}
		total += n
		parts = append(parts, fmt.Sprintf("%d:%d", status, n))
	}
	return total, strings.Join(parts, " "), rows.Err()
}

// rss is the resident set size of pid, from /proc.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// metrics reads the Go runtime gauges from /metrics.
func metrics(client *http.Client, base string) map[string]float64 {
	out := map[string]float64{}
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if name == "go_memstats_heap_inuse_bytes" || name == "go_goroutines" {
			out[name], _ = strconv.ParseFloat(strings.TrimSpace(val), 64)
		}
	}
	return out
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "?"
	}
	return p.Redacted()
}
