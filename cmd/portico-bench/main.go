// Command portico-bench measures the gateway against a bare reverse proxy and
// nginx on this machine, in one run, with wrk: `make bench` runs it. Each server
// runs in its own process (this binary re-executed with a role), so the load
// generator, the proxy under test and the backend compete for the cores the way
// they do in production on one box.
//
// It prints requests per second and p50/p99 latency for each target at high and
// low concurrency, and the ratios against the backend alone and the bare proxy.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"portico/internal/gateway"
	"portico/internal/gateway/snapshot"
	"portico/internal/platform/secrets"
)

const benchKey = "bench-api-key-0123456789"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve-role" {
		serveRole(os.Args[2], os.Args[3], os.Args[4])
		return
	}
	duration := flag.Duration("d", 10*time.Second, "duration of each wrk run")
	conns := flag.String("c", "64,1", "wrk connection counts to run, comma-separated")
	rounds := flag.Int("rounds", 3, "runs of every target, interleaved; the median is reported")
	flag.Parse()
	if err := run(*duration, strings.Split(*conns, ","), *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "portico-bench:", err)
		os.Exit(1)
	}
}

// serveRole runs one server until SIGTERM: the backend, the bare proxy or the gateway.
func serveRole(role, addr, target string) {
	var h http.Handler
	switch role {
	case "backend":
		body := []byte(`{"message":"hello from the backend"}`)
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		})
	case "bare":
		u, _ := url.Parse(target)
		h = &httputil.ReverseProxy{
			Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
			Transport:  &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: 90 * time.Second, DisableCompression: true},
			BufferPool: &pool{},
			ErrorLog:   log.New(io.Discard, "", 0), // wrk cutting connections at the end is not news
		}
	case "gateway":
		h = newGateway(target, 1<<40)
	case "gateway-unlimited":
		h = newGateway(target, 0)
	default:
		fmt.Fprintln(os.Stderr, "unknown role", role)
		os.Exit(2)
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, os.Interrupt)
		<-c
		srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// countingMeter stands in for the analytics sink: a non-blocking send into a
// bounded buffer drained by one goroutine, as the sink does.
type countingMeter struct {
	ch      chan gateway.Event
	n, drop atomic.Int64
}

func (m *countingMeter) Record(e gateway.Event) {
	select {
	case m.ch <- e:
	default:
		m.drop.Add(1)
	}
}

// newGateway serves one API with API-key auth and metering; requests is the
// tier's limit a minute (0: Unlimited, so the limiter is never asked).
func newGateway(target string, requests int64) http.Handler {
	m := &countingMeter{ch: make(chan gateway.Event, 8192)}
	go func() {
		for range m.ch {
			m.n.Add(1)
		}
	}()
	g := gateway.New(gateway.Options{Log: slog.New(slog.DiscardHandler), Meter: m})
	err := g.Load(snapshot.Config{
		Version: 1,
		APIs: []snapshot.API{{ID: "api", OrgID: "org", Context: "bench", Version: "v1", Default: true, State: snapshot.StatePublished,
			Auth: []string{snapshot.AuthAPIKey}, Backends: []string{target}, TimeoutMS: 30000,
			Operations: []snapshot.Operation{{Method: "GET", Path: "/hello"}}}},
		Applications:  []snapshot.Application{{ID: "app", OrgID: "org"}},
		Keys:          []snapshot.APIKey{{Hash: secrets.Hash(benchKey), ApplicationID: "app"}},
		Subscriptions: []snapshot.Subscription{{ID: "sub", ApplicationID: "app", APIID: "api", Tier: "Gold", Status: snapshot.SubActive}},
		// A limit far above what the run reaches: the limiter runs on every call.
		Tiers: []snapshot.Tier{{OrgID: "org", Name: "Gold", Requests: requests, Per: "minute"}},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return g
}

type pool struct{ p sync.Pool }

func (b *pool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}
func (b *pool) Put(buf []byte) { buf = buf[:cap(buf)]; b.p.Put(&buf) }

type target struct {
	name, url string
	header    []string
}

type result struct {
	rps      float64
	p50, p99 time.Duration
}

func run(d time.Duration, conns []string, rounds int) error {
	if rounds < 1 {
		rounds = 1
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return fmt.Errorf("wrk is not installed (apt-get install wrk; `make bench` does it)")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx := context.Background()
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	}()
	start := func(role, target string) (string, error) {
		addr, err := freeAddr()
		if err != nil {
			return "", err
		}
		cmd := exec.CommandContext(ctx, self, "serve-role", role, addr, target)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return "", err
		}
		procs = append(procs, cmd)
		return addr, waitUp(addr)
	}
	backend, err := start("backend", "")
	if err != nil {
		return err
	}
	bare, err := start("bare", "http://"+backend)
	if err != nil {
		return err
	}
	gw, err := start("gateway", "http://"+backend)
	if err != nil {
		return err
	}
	gwFree, err := start("gateway-unlimited", "http://"+backend)
	if err != nil {
		return err
	}
	targets := []target{
		{"backend alone", "http://" + backend + "/hello", nil},
		{"bare httputil.ReverseProxy", "http://" + bare + "/hello", nil},
	}
	if nginxAddr, stop, err := startNginx(backend); err == nil {
		defer stop()
		targets = append(targets, target{"nginx proxy", "http://" + nginxAddr + "/hello", nil})
	} else {
		fmt.Fprintln(os.Stderr, "nginx skipped:", err)
	}
	targets = append(targets,
		target{"Portico gateway (API key, limiter, metering)", "http://" + gw + "/bench/v1/hello", []string{"apikey: " + benchKey}},
		target{"Portico gateway (API key, no limit, metering)", "http://" + gwFree + "/bench/v1/hello", []string{"apikey: " + benchKey}})

	fmt.Printf("wrk, %s per run, median of %d interleaved rounds, on %d cores; every server is its own process\n", d, rounds, numCPU())
	for _, c := range conns {
		c = strings.TrimSpace(c)
		runs := make([][]result, len(targets))
		for round := 0; round < rounds; round++ {
			for i, t := range targets {
				// Warm up keep-alive pools and the runtime, then measure.
				if _, err := wrkRun(wrk, t, c, time.Second); err != nil {
					return err
				}
				r, err := wrkRun(wrk, t, c, d)
				if err != nil {
					return err
				}
				runs[i] = append(runs[i], r)
			}
		}
		fmt.Printf("\n%s connection(s)\n%-46s %12s %10s %10s %10s %10s\n", c, "target", "req/s", "vs backend", "vs bare", "p50", "p99")
		var base, bareRPS float64
		var bareP99 time.Duration
		for i, t := range targets {
			r := median(runs[i])
			if base == 0 {
				base = r.rps
			}
			if strings.HasPrefix(t.name, "bare") {
				bareRPS, bareP99 = r.rps, r.p99
			}
			vsBare := "-"
			if bareRPS > 0 {
				vsBare = fmt.Sprintf("%.2f", r.rps/bareRPS)
			}
			fmt.Printf("%-46s %12.0f %10.2f %10s %10s %10s\n", t.name, r.rps, r.rps/base, vsBare, r.p50, r.p99)
			if strings.HasPrefix(t.name, "Portico gateway (API key, limiter") && bareP99 > 0 {
				fmt.Printf("%-46s %12s %10s %10s %10s %10s\n", "  added p99 over the bare proxy", "", "", "", "", r.p99-bareP99)
			}
		}
	}
	return nil
}

// median takes each figure's median across rounds separately.
func median(rs []result) result {
	pick := func(vals []float64) float64 {
		sort.Float64s(vals)
		return vals[len(vals)/2]
	}
	var rps, p50, p99 []float64
	for _, r := range rs {
		rps, p50, p99 = append(rps, r.rps), append(p50, float64(r.p50)), append(p99, float64(r.p99))
	}
	return result{rps: pick(rps), p50: time.Duration(pick(p50)), p99: time.Duration(pick(p99))}
}

var (
	rpsRE = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	pctRE = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
)

func wrkRun(wrk string, t target, conns string, d time.Duration) (result, error) {
	args := []string{"-t1", "-c" + conns, "-d" + strconv.Itoa(int(d.Seconds())) + "s", "--latency"}
	for _, h := range t.header {
		args = append(args, "-H", h)
	}
	args = append(args, t.url)
	out, err := exec.Command(wrk, args...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk %s: %v\n%s", t.name, err, out)
	}
	s := string(out)
	if strings.Contains(s, "Non-2xx") {
		return result{}, fmt.Errorf("%s answered errors under load:\n%s", t.name, s)
	}
	m := rpsRE.FindStringSubmatch(s)
	if m == nil {
		return result{}, fmt.Errorf("cannot read wrk output:\n%s", s)
	}
	var r result
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	for _, pm := range pctRE.FindAllStringSubmatch(s, -1) {
		v, _ := strconv.ParseFloat(pm[2], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[pm[3]]
		dur := time.Duration(v * float64(unit))
		if pm[1] == "50" {
			r.p50 = dur.Round(time.Microsecond)
		} else {
			r.p99 = dur.Round(time.Microsecond)
		}
	}
	return r, nil
}

func startNginx(backend string) (string, func(), error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			return "", nil, fmt.Errorf("not installed")
		}
		bin = "/usr/sbin/nginx"
	}
	dir, err := os.MkdirTemp("", "portico-bench-nginx")
	if err != nil {
		return "", nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	conf := fmt.Sprintf(`user root;
worker_processes 1;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  upstream backend { server %[2]s; keepalive 256; }
  server {
    listen %[3]s;
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`, dir, backend, addr)
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "-c", file, "-p", dir)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait(); os.RemoveAll(dir) }
	if err := waitUp(addr); err != nil {
		stop()
		return "", nil, err
	}
	return addr, stop, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitUp(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not come up", addr)
}

func numCPU() int {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "processor") {
			n++
		}
	}
	return n
}
