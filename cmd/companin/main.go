// Command companin is the whole platform in one binary: the API, the
// projectors and the reply worker (serve), schema migrations (migrate),
// organization bootstrap (org create) and a private PostgreSQL for
// development and tests (postgres).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/companin/companin/adapters/logctx"
)

const usage = `usage: companin <command>

commands:
  serve                    run the API and the workers (DATABASE_URL, or a private PostgreSQL)
  migrate                  apply database migrations and exit
  org create --name NAME   create an organization and print its API credentials once
  eval [--set S] [--k 5]   measure retrieval quality (hit@1, hit@k, MRR) on labelled sets
  postgres start|stop      manage a private PostgreSQL cluster (used by scripts/test)`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "companin:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	if args[0] == "postgres" {
		return runPostgres(ctx, args[1:], os.Stdout)
	}
	cfg, err := loadConfig()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	setupLogging(cfg.LogLevel)
	switch args[0] {
	case "serve":
		return runServe(ctx, cfg)
	case "migrate":
		return runMigrate(ctx, cfg)
	case "org":
		return runOrg(ctx, cfg, args[1:], os.Stdout)
	case "eval":
		return runEval(ctx, cfg, args[1:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

func setupLogging(level string) {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	// logctx adds the request and correlation ids a context carries to every line.
	slog.SetDefault(slog.New(logctx.Handler{Handler: slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l})}))
}
