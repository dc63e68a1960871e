package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"portico/internal/store"
	"portico/internal/store/storetest"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestVersionAndHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, env(nil), &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "portico ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"help"}, env(nil), &out, &errOut); code != 0 || !strings.Contains(out.String(), "migrate") {
		t.Fatalf("help: %d %q", code, out.String())
	}
}

func TestBadInvocationsExitWithOneClearLine(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, nil, `unknown command "frobnicate"`},
		{"heroku without manifest", []string{"heroku"}, nil, "usage: portico heroku manifest"},
		{"bad port", []string{"migrate"}, map[string]string{"PORT": "http"}, "PORT: "},
		{"bad database url", []string{"serve"}, map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL: "},
		{"short secret", []string{"serve"}, map[string]string{"PORTICO_SECRET": "tiny"}, "PORTICO_SECRET: "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, env(tc.env), &out, &errOut)
			if code != 2 || !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q", code, errOut.String())
			}
			if tc.env != nil && strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 {
				t.Fatalf("configuration error spans lines: %q", errOut.String())
			}
		})
	}
}

func TestMigrateIsIdempotentOnBothDatabases(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db := storetest.Database(t, dialect)
			url := db.DSN
			if dialect == store.SQLite {
				url = "sqlite:" + db.DSN
			}
			e := env(map[string]string{"DATABASE_URL": url})
			var out, errOut bytes.Buffer
			if code := run([]string{"migrate"}, e, &out, &errOut); code != 0 || strings.HasPrefix(out.String(), "portico: 0 ") {
				t.Fatalf("first migrate: %d %q %q", code, out.String(), errOut.String())
			}
			out.Reset()
			if code := run([]string{"migrate"}, e, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "portico: 0 migration(s)") {
				t.Fatalf("second migrate: %d %q %q", code, out.String(), errOut.String())
			}
		})
	}
}

// TestServeFromNothing is the README's first command on a fresh machine: no
// environment at all, SQLite under data/, a generated admin password in the log,
// health endpoints answering, and a clean stop on SIGTERM.
func TestServeFromNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "portico")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	var logs bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), fmt.Sprintf("PORT=%d", port)}
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready in 30 s; log:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, p := range []string{"/healthz", "/metrics", "/"} {
		resp, err := http.Get(base + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", p, resp, err)
		}
		resp.Body.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "portico.db")); err != nil {
		t.Fatalf("no SQLite database under data/: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-ctx.Done():
		t.Fatal("did not stop within 30 s of SIGTERM")
	}
	out := logs.String()
	for _, want := range []string{"email=admin@localhost", "password=", fmt.Sprintf("url=http://localhost:%d", port), "stopped cleanly"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}
