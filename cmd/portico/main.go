// Command portico is the whole of Portico in one binary: `portico serve` runs
// every module on one listener, `portico migrate` applies the schema, and the
// other subcommands are listed by `portico help`. With no arguments it serves.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"portico/internal/app"
	"portico/internal/config"
	"portico/internal/heroku"
	"portico/internal/store"
)

const usage = `Portico: API management in one binary.

Usage: portico [command]

Commands:
  serve            run every module on one listener, $PORT (default 8080); migrates first
  gateway          run the data plane alone, for scaling proxies out beside one serve
  migrate          apply pending database migrations and exit
  heroku manifest  print the Heroku add-on manifest built from the environment
  version          print the version
  help             print this text

Configuration comes from the environment; see the README.
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "--version":
		fmt.Fprintln(stdout, "portico", version())
		return 0
	case "serve", "migrate", "gateway", "heroku":
	default:
		fmt.Fprintf(stderr, "portico: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if cmd == "heroku" && (len(args) < 2 || args[1] != "manifest") {
		fmt.Fprintln(stderr, "portico: usage: portico heroku manifest")
		return 2
	}

	cfg, err := config.Load(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "portico: configuration: %v\n", err)
		return 2
	}
	log := app.NewLogger(cfg.Log, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	switch cmd {
	case "serve":
		a, err := app.New(ctx, cfg, log, app.Options{Migrate: true})
		if err != nil {
			log.Error("cannot start", "err", err)
			return 1
		}
		defer a.Close()
		if err := a.Serve(ctx, nil); err != nil {
			log.Error("server stopped", "err", err)
			return 1
		}
		log.Info("stopped cleanly")
		return 0
	case "migrate":
		st, err := store.Open(ctx, cfg.Database, log)
		if err != nil {
			log.Error("cannot open the database", "err", err)
			return 1
		}
		defer st.Close()
		n, err := st.Migrate(ctx)
		if err != nil {
			log.Error("migration failed", "err", err)
			return 1
		}
		fmt.Fprintf(stdout, "portico: %d migration(s) applied; the schema is up to date\n", n)
		return 0
	case "gateway":
		a, err := app.New(ctx, cfg, log, app.Options{GatewayOnly: true})
		if err != nil {
			log.Error("cannot start the gateway", "err", err)
			return 1
		}
		defer a.Close()
		if err := a.Serve(ctx, nil); err != nil {
			log.Error("gateway stopped", "err", err)
			return 1
		}
		log.Info("stopped cleanly")
		return 0
	case "heroku":
		if err := heroku.WriteManifest(stdout, cfg); err != nil {
			fmt.Fprintf(stderr, "portico heroku manifest: %v\n", err)
			return 2
		}
		return 0
	}
	return 0
}

func version() string {
	v := app.Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
