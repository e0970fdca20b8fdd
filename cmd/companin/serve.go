package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/adapters/pgcluster"
	"github.com/companin/companin/migrations"
)

// openDatabase connects to DATABASE_URL, or starts the project's private
// PostgreSQL when it is unset, and migrates the schema. The returned stop
// function closes the pool and stops a private cluster.
func openDatabase(ctx context.Context, cfg config) (*pgxpool.Pool, func(), error) {
	url := cfg.DatabaseURL
	stopCluster := func() {}
	if url == "" {
		// A running `companin serve` owns the private cluster: other commands
		// use it and leave it running.
		c, running, err := pgcluster.Attach(ctx, cfg.DataDir)
		if err != nil {
			return nil, nil, err
		}
		if running {
			url = c.URL("companin")
			c = nil
		} else {
			slog.Info("DATABASE_URL is not set: starting a private PostgreSQL", "dir", cfg.DataDir)
			c, err = pgcluster.Start(ctx, pgcluster.Options{Dir: cfg.DataDir})
			if err != nil {
				return nil, nil, err
			}
		}
		if c != nil {
			if err := startedCluster(ctx, c, &url, &stopCluster); err != nil {
				return nil, nil, err
			}
		}
	}
	if err := migrations.Up(ctx, url); err != nil {
		stopCluster()
		return nil, nil, err
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		stopCluster()
		return nil, nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	pcfg.MaxConns = max(pcfg.MaxConns, 20)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		stopCluster()
		return nil, nil, fmt.Errorf("connect: %w", err)
	}
	return pool, func() { pool.Close(); stopCluster() }, nil
}

func startedCluster(ctx context.Context, c *pgcluster.Cluster, url *string, stop *func()) error {
	if err := createDatabase(ctx, c.URL("postgres"), "companin"); err != nil {
		c.Stop()
		return err
	}
	*url = c.URL("companin")
	*stop = func() {
		if err := c.Stop(); err != nil {
			slog.Warn("stop private PostgreSQL", "err", err)
		}
	}
	return nil
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	pool, err := pgxpool.New(ctx, adminURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("check database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := pool.Exec(ctx, "CREATE DATABASE "+name); err != nil && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

func runServe(ctx context.Context, cfg config) error {
	pool, stop, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	app, err := newApplication(ctx, cfg, pool)
	if err != nil {
		return err
	}
	var ln net.Listener
	if cfg.API {
		ln, err = net.Listen("tcp", cfg.Addr)
		if err != nil {
			return fmt.Errorf("listen %s: %w", cfg.Addr, err)
		}
		slog.Info("serving", "addr", ln.Addr().String(), "api", "http://"+displayAddr(ln.Addr())+"/api/v1")
		fmt.Fprintf(os.Stderr, "\nCompanin is running on http://%s\nCreate credentials in another shell with:\n  go run ./cmd/companin org create --name \"My Company\"\n\n",
			displayAddr(ln.Addr()))
	}
	return app.run(ctx, ln)
}

func displayAddr(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func runMigrate(ctx context.Context, cfg config) error {
	_, stop, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	stop()
	slog.Info("migrations applied")
	return nil
}
