// Package pgcluster starts a private PostgreSQL cluster for development and
// tests.
//
// It drives the stock initdb and pg_ctl binaries rather than Docker or the
// system service, so `make run`, `make test` and CI behave the same on a fresh
// machine that only has the postgresql package installed.
//
// A data directory belongs to one owner at a time: Start stops a server that
// an earlier run left running on it (a crashed `make run`, say) and starts it
// again, so the Options given always take effect.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Options configures Start.
type Options struct {
	// Dir is the data directory. It is created and initialised if it holds
	// no cluster yet and reused otherwise.
	Dir string
	// Port is the TCP port on 127.0.0.1. 0 picks a free one, and picks
	// another if something grabs it before the server binds.
	Port int
	// Fast turns off fsync, synchronous_commit and full_page_writes. A crash
	// can then corrupt the cluster: use it only for throwaway test data.
	Fast bool
	// Ephemeral ties the cluster to this process: Stop deletes Dir, and if
	// the process dies without calling Stop (a test timeout, kill -9) a
	// watchdog process stops the server and deletes Dir anyway.
	Ephemeral bool
	// Log receives the output of initdb and pg_ctl; nil discards it. Errors
	// carry the relevant output regardless. The server logs to Dir/server.log.
	Log io.Writer
}

// Cluster is a running server started by Start.
type Cluster struct {
	dir      string
	port     int
	tools    tools
	log      io.Writer
	watchdog *watchdog // nil unless Options.Ephemeral
}

const (
	confFile    = "companin.conf" // rewritten on every start
	serverLog   = "server.log"
	pgctlWait   = "60" // seconds pg_ctl waits for start or stop
	portRetries = 5
)

// Start initialises Dir if needed and starts a server on it, returning once
// it accepts connections.
func Start(ctx context.Context, opt Options) (*Cluster, error) {
	if opt.Dir == "" {
		return nil, errors.New("pgcluster: Options.Dir is empty")
	}
	dir, err := filepath.Abs(opt.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	t, err := findTools(dir)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c := &Cluster{dir: dir, tools: t, log: opt.Log}
	if c.log == nil {
		c.log = io.Discard
	}
	if err := c.prepareDir(); err != nil {
		return nil, fmt.Errorf("pgcluster: prepare %s: %w", dir, err)
	}
	if opt.Ephemeral {
		// Started before initdb so that even a kill during startup cleans up.
		if c.watchdog, err = startWatchdog(dir, t.pgctlCommand("stop", "-D", dir, "-m", "immediate", "-w", "-t", pgctlWait)); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
	}
	if err := c.start(ctx, opt); err != nil {
		if c.watchdog != nil {
			c.watchdog.finish()
		}
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context, opt Options) error {
	if _, err := os.Stat(filepath.Join(c.dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(c.log, "pgcluster: initialising a new cluster in %s\n", c.dir)
		if err := c.initdb(ctx, opt.Fast); err != nil {
			return err
		}
	}
	if err := c.includeConf(); err != nil {
		return err
	}
	removeStalePID(c.dir)
	running, err := c.running(ctx)
	if err != nil {
		return err
	}
	if running {
		fmt.Fprintf(c.log, "pgcluster: stopping the server an earlier run left on %s\n", c.dir)
		if err := c.stop(ctx, "fast"); err != nil {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		port := opt.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return err
			}
		}
		err := c.startOn(ctx, port, opt.Fast)
		if err == nil {
			return nil
		}
		// A free port can be taken between freePort and the server binding
		// it, most often by a parallel test process doing the same.
		if opt.Port != 0 || !errors.Is(err, errPortInUse) || attempt == portRetries {
			return err
		}
	}
}

var errPortInUse = errors.New("port already in use")

func (c *Cluster) initdb(ctx context.Context, fast bool) error {
	args := []string{"-D", c.dir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"}
	if fast {
		args = append(args, "--no-sync")
	}
	if _, err := c.run(ctx, c.tools.command(ctx, c.tools.initdb, args...)); err != nil {
		return fmt.Errorf("initdb %s: %w", c.dir, err)
	}
	return nil
}

// includeConf makes postgresql.conf read companin.conf last, so the settings
// Start writes there win over initdb's defaults without editing them.
func (c *Cluster) includeConf() error {
	path := filepath.Join(c.dir, "postgresql.conf")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read postgresql.conf: %w", err)
	}
	line := "include_if_exists = '" + confFile + "'"
	if bytes.Contains(b, []byte(line)) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open postgresql.conf: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n# Settings from pgcluster, rewritten on every start.\n%s\n", line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write postgresql.conf: %w", err)
	}
	return nil
}

func (c *Cluster) writeConf(port int, fast bool) error {
	// The socket path must fit in sockaddr_un (107 bytes): beyond that the
	// server would refuse to start, so deep directories get TCP only.
	sockets := c.dir
	if len(c.dir)+len("/.s.PGSQL.65535.lock") > 107 {
		sockets = ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by pgcluster on every start: edits are lost.\n")
	fmt.Fprintf(&b, "listen_addresses = '127.0.0.1'\nport = %d\n", port)
	fmt.Fprintf(&b, "unix_socket_directories = %s\n", quoteConf(sockets))
	fmt.Fprintf(&b, "max_connections = 300\nshared_buffers = '128MB'\n")
	if fast {
		fmt.Fprintf(&b, "# Fast: durability off, for throwaway test data only.\n")
		fmt.Fprintf(&b, "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
	}
	path := filepath.Join(c.dir, confFile)
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", confFile, err)
	}
	return c.tools.chown(path)
}

// startOn starts the server on port, reporting errPortInUse when the server
// failed only because the port was taken.
func (c *Cluster) startOn(ctx context.Context, port int, fast bool) error {
	if err := c.writeConf(port, fast); err != nil {
		return err
	}
	logPath := filepath.Join(c.dir, serverLog)
	var offset int64
	if fi, err := os.Stat(logPath); err == nil {
		offset = fi.Size()
	}
	cmd := c.tools.command(ctx, c.tools.pgctl, "start", "-D", c.dir, "-w", "-t", pgctlWait, "-l", logPath)
	if _, err := c.run(ctx, cmd); err != nil {
		serverOut := readFrom(logPath, offset)
		if strings.Contains(serverOut, "Address already in use") {
			err = errPortInUse
		}
		return fmt.Errorf("start server on port %d: %w\nserver log:\n%s", port, err, tail(serverOut, 20))
	}
	c.port = port
	return nil
}

// URL returns the address of database dbname as the superuser, who needs no
// password (trust authentication, loopback only).
func (c *Cluster) URL(dbname string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, dbname)
}

// Port returns the TCP port the server listens on.
func (c *Cluster) Port() int { return c.port }

// Dir returns the absolute path of the data directory.
func (c *Cluster) Dir() string { return c.dir }

// Stop shuts the server down (pg_ctl stop -m fast), waiting for it to exit.
// For an Ephemeral cluster it also deletes Dir. Stopping a stopped cluster
// is not an error.
func (c *Cluster) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	mode := "fast"
	if c.watchdog != nil {
		mode = "immediate" // nothing worth a clean shutdown: Dir goes next
	}
	err := c.stopIfRunning(ctx, mode)
	if c.watchdog != nil {
		if werr := c.watchdog.finish(); err == nil {
			err = werr
		}
		c.watchdog = nil
	}
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// StopDir stops the server running on data directory dir, for callers that
// did not start it themselves (`companin postgres stop`). It succeeds when
// nothing is running there, so it is safe in cleanup traps.
func StopDir(ctx context.Context, dir string, log io.Writer) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	t, err := findTools(dir)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if log == nil {
		log = io.Discard
	}
	c := &Cluster{dir: dir, tools: t, log: log}
	if err := c.stopIfRunning(ctx, "fast"); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

func (c *Cluster) stopIfRunning(ctx context.Context, mode string) error {
	if _, err := os.Stat(filepath.Join(c.dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		return nil // no cluster, or an Ephemeral one already deleted
	}
	running, err := c.running(ctx)
	if err != nil || !running {
		return err
	}
	return c.stop(ctx, mode)
}

func (c *Cluster) stop(ctx context.Context, mode string) error {
	cmd := c.tools.command(ctx, c.tools.pgctl, "stop", "-D", c.dir, "-m", mode, "-w", "-t", pgctlWait)
	if _, err := c.run(ctx, cmd); err != nil {
		return fmt.Errorf("stop server on %s: %w", c.dir, err)
	}
	return nil
}

// running asks pg_ctl whether a server runs on the data directory.
func (c *Cluster) running(ctx context.Context) (bool, error) {
	cmd := c.tools.command(ctx, c.tools.pgctl, "status", "-D", c.dir)
	_, err := c.run(ctx, cmd)
	var exit *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exit) && exit.ExitCode() == 3: // documented "not running"
		return false, nil
	default:
		return false, fmt.Errorf("server status on %s: %w", c.dir, err)
	}
}

// run runs cmd, copying its output to the log and, on failure, into the
// error: a bare "exit status 1" from initdb is useless.
func (c *Cluster) run(ctx context.Context, cmd *exec.Cmd) (string, error) {
	var out bytes.Buffer
	w := io.MultiWriter(&out, c.log)
	cmd.Stdout, cmd.Stderr = w, w
	// A stray descendant holding our pipes must not hang us forever.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return out.String(), fmt.Errorf("%s: %w", filepath.Base(cmd.Path), ctx.Err())
		}
		return out.String(), fmt.Errorf("%w\n%s", err, tail(out.String(), 20))
	}
	return out.String(), nil
}

// removeStalePID deletes a postmaster.pid whose process is gone or is not a
// postgres process. After a container restart the recorded pid may belong to
// something else, and pg_ctl would then signal that process or refuse to
// start. Only checked where /proc exists.
func removeStalePID(dir string) {
	pidFile := filepath.Join(dir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	pid, _, _ := strings.Cut(string(b), "\n")
	pid = strings.TrimSpace(pid)
	if pid == "" {
		return
	}
	if _, err := os.Stat("/proc/self"); err != nil {
		return
	}
	comm, err := os.ReadFile(filepath.Join("/proc", pid, "comm"))
	if name := strings.TrimSpace(string(comm)); err == nil && (name == "postgres" || name == "postmaster") {
		return
	}
	os.Remove(pidFile)
}

// freePort asks the kernel for a free loopback port. It can be taken again
// before the server binds it; Start retries when that happens.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func quoteConf(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func readFrom(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	return string(b)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
