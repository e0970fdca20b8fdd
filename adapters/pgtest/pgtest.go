// Package pgtest gives each test its own freshly migrated PostgreSQL database.
//
// Databases are cloned from a template migrated once per cluster and schema,
// which costs milliseconds where replaying migrations per test would cost far
// more. The cluster is the one COMPANIN_TEST_DATABASE_URL names (scripts/test
// starts one for the whole run, shared by every test package) or, when that
// is unset, a private one this test process starts on first use and removes
// when its tests end.
//
// Usage:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		t.Parallel()
//		pool := pgtest.Pool(t)
//		...
//	}
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/companin/companin/adapters/pgcluster"
	"github.com/companin/companin/migrations"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL names the variable holding the URL of a maintenance database (for
// example .../postgres) on a running cluster to use instead of a private one.
const EnvURL = "COMPANIN_TEST_DATABASE_URL"

// templateLock is the advisory lock key serialising template builds across
// every test process sharing a cluster. Any constant works; this one is
// "pgtest" in ASCII so it is recognisable in pg_locks.
const templateLock int64 = 0x706774657374

var (
	mainCalled bool // set by Main before any test runs

	setupOnce sync.Once
	shared    *harness
	setupErr  error
)

// harness is the per-process state behind URL, built on first use.
type harness struct {
	cluster  *pgcluster.Cluster // nil when using EnvURL's cluster
	admin    *pgxpool.Pool      // on the maintenance database
	base     *url.URL           // the maintenance database's URL
	template string
}

// Main runs the tests of a package that uses pgtest; call it from TestMain.
// It stops and removes the private cluster, if one was started, before
// exiting with the tests' status.
func Main(m *testing.M) {
	mainCalled = true
	code := m.Run()
	if shared != nil {
		if err := shared.close(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// URL returns the URL of a new database holding the current schema and no
// data, dropped when t ends. Safe for parallel tests.
func URL(t testing.TB) string {
	t.Helper()
	h, err := get()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	name, err := h.create()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := h.drop(name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return h.url(name)
}

// Pool returns a pool on a new database from URL, closed when t ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	u := URL(t) // registered first, so its DROP runs after Close below
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatalf("pgtest: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func get() (*harness, error) {
	setupOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		shared, setupErr = setup(ctx)
	})
	return shared, setupErr
}

func setup(ctx context.Context) (*harness, error) {
	h := &harness{}
	raw := os.Getenv(EnvURL)
	if raw == "" {
		// Without Main nobody would stop the cluster we are about to start.
		if !mainCalled {
			return nil, fmt.Errorf("no cluster: call pgtest.Main from TestMain, or set %s", EnvURL)
		}
		dir, err := scratchDir()
		if err != nil {
			return nil, fmt.Errorf("cluster dir: %w", err)
		}
		h.cluster, err = pgcluster.Start(ctx, pgcluster.Options{Dir: dir, Fast: true, Ephemeral: true})
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		raw = h.cluster.URL("postgres")
	}
	var err error
	if h.base, err = url.Parse(raw); err != nil || (h.base.Scheme != "postgres" && h.base.Scheme != "postgresql") {
		h.close()
		return nil, fmt.Errorf("%s=%q: want a postgres:// URL", EnvURL, raw)
	}
	if h.admin, err = pgxpool.New(ctx, raw); err != nil {
		h.close()
		return nil, fmt.Errorf("connect to %s: %w", h.base.Redacted(), err)
	}
	if h.template, err = h.ensureTemplate(ctx); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// ensureTemplate returns the name of the template database for the current
// migrations, building it if this cluster has none yet.
//
// Test processes sharing a cluster race to build it, hence the advisory lock.
// It is taken on a connection of its own, outside the pool, so that closing
// that connection releases it whatever happens.
func (h *harness) ensureTemplate(ctx context.Context) (string, error) {
	name := "tmpl_" + migrations.Fingerprint()
	conn, err := pgx.Connect(ctx, h.base.String())
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", h.base.Redacted(), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return "", fmt.Errorf("lock template %s: %w", name, err)
	}

	// Marking it a template is the last step, so a template database is a
	// finished one; anything else is the remains of a builder that died.
	var done bool
	err = conn.QueryRow(ctx,
		"SELECT datistemplate AND NOT datallowconn FROM pg_database WHERE datname = $1", name).Scan(&done)
	switch {
	case err == nil && done:
		return name, nil
	case err == nil:
		if err := execAll(ctx, conn,
			"ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE false",
			"DROP DATABASE "+ident(name)+" WITH (FORCE)"); err != nil {
			return "", fmt.Errorf("drop unfinished template: %w", err)
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return "", fmt.Errorf("look up template %s: %w", name, err)
	}

	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(name)); err != nil {
		return "", fmt.Errorf("create template %s: %w", name, err)
	}
	if err := migrations.Up(ctx, h.url(name)); err != nil {
		return "", fmt.Errorf("migrate template %s: %w", name, err)
	}
	// No connections allowed: CREATE DATABASE ... TEMPLATE fails while anyone
	// is connected to the template, so a stray psql session would break every
	// test. (migrations.Up has closed its own connections; CREATE DATABASE
	// waits a few seconds for their backends to exit.)
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return "", fmt.Errorf("mark template %s: %w", name, err)
	}
	return name, nil
}

func (h *harness) create() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b := make([]byte, 8)
	rand.Read(b) // never fails (crypto/rand)
	name := "t_" + hex.EncodeToString(b)
	// FILE_COPY copies the template's files; the default WAL_LOG writes the
	// whole database through the WAL, measured about twice as slow here.
	sql := "CREATE DATABASE " + ident(name) + " TEMPLATE " + ident(h.template) + " STRATEGY FILE_COPY"
	if _, err := h.admin.Exec(ctx, sql); err != nil {
		return "", fmt.Errorf("create database from %s: %w", h.template, err)
	}
	return name, nil
}

func (h *harness) drop(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// FORCE: a test that leaked a connection must not fail the next cleanup.
	if _, err := h.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

func (h *harness) url(dbname string) string {
	u := *h.base
	u.Path = "/" + dbname
	u.RawPath = ""
	return u.String()
}

func (h *harness) close() error {
	if h.admin != nil {
		h.admin.Close()
	}
	if h.cluster != nil {
		return h.cluster.Stop()
	}
	return nil
}

// scratchDir makes a directory for a private cluster, in tmpfs when it has
// room: on disk CREATE DATABASE costs ~100 ms even with fsync off, in memory
// ~15 ms. Docker's default 64 MB /dev/shm is too small, hence the size check.
func scratchDir() (string, error) {
	const shm, need = "/dev/shm", 1 << 30
	var st syscall.Statfs_t
	if err := syscall.Statfs(shm, &st); err == nil && st.Bavail*uint64(st.Bsize) >= need {
		if dir, err := os.MkdirTemp(shm, "companin-pgtest-"); err == nil {
			return dir, nil
		}
	}
	return os.MkdirTemp("", "companin-pgtest-")
}

func execAll(ctx context.Context, conn *pgx.Conn, sqls ...string) error {
	for _, sql := range sqls {
		if _, err := conn.Exec(ctx, sql); err != nil {
			return err
		}
	}
	return nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }
