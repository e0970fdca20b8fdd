package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// tools locates the PostgreSQL binaries and the account that runs them.
type tools struct {
	initdb, pgctl string
	// runuser is set when we are root: PostgreSQL refuses to run as root, so
	// every command runs as the postgres account instead.
	runuser  string
	uid, gid int
}

// findTools prefers the binaries matching an existing cluster's PG_VERSION
// (a newer major version cannot open it), then the newest Debian-style
// install under /usr/lib/postgresql, then PATH.
func findTools(dataDir string) (tools, error) {
	var t tools
	var dirs []string
	if b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		dirs = append(dirs, filepath.Join("/usr/lib/postgresql", strings.TrimSpace(string(b)), "bin"))
	}
	installed, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(installed, func(a, b string) int { return majorOf(b) - majorOf(a) })
	dirs = append(dirs, installed...)
	for _, d := range dirs {
		initdb, pgctl := filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")
		if isExecutable(initdb) && isExecutable(pgctl) {
			t.initdb, t.pgctl = initdb, pgctl
			break
		}
	}
	if t.initdb == "" {
		var err error
		if t.initdb, err = exec.LookPath("initdb"); err != nil {
			return t, errors.New("initdb not found in /usr/lib/postgresql/*/bin or PATH: install postgresql (scripts/deps)")
		}
		if t.pgctl, err = exec.LookPath("pg_ctl"); err != nil {
			return t, errors.New("pg_ctl not found next to initdb or in PATH: install postgresql (scripts/deps)")
		}
	}
	if os.Geteuid() != 0 {
		return t, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return t, fmt.Errorf("running as root, and PostgreSQL refuses root, but there is no postgres account to run it as (installing postgresql creates one): %w", err)
	}
	if t.uid, err = strconv.Atoi(u.Uid); err != nil {
		return t, fmt.Errorf("postgres uid %q: %w", u.Uid, err)
	}
	if t.gid, err = strconv.Atoi(u.Gid); err != nil {
		return t, fmt.Errorf("postgres gid %q: %w", u.Gid, err)
	}
	if t.runuser, err = lookPath("runuser", "/usr/sbin/runuser", "/sbin/runuser"); err != nil {
		return t, errors.New("running as root needs runuser to drop to the postgres account: install util-linux")
	}
	return t, nil
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func lookPath(name string, fallbacks ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, p := range fallbacks {
		if isExecutable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

// command builds a command that runs as the server's account.
func (t tools) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	argv := t.argv(name, args...)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = serverEnv()
	// The postgres account may not be able to enter our working directory,
	// which makes initdb and pg_ctl complain.
	cmd.Dir = "/"
	return cmd
}

func (t tools) pgctlCommand(args ...string) []string { return t.argv(t.pgctl, args...) }

func (t tools) argv(name string, args ...string) []string {
	argv := []string{name}
	if t.runuser != "" {
		argv = []string{t.runuser, "-u", "postgres", "--", name}
	}
	return append(argv, args...)
}

// serverEnv drops PG* variables, which would silently redirect pg_ctl and
// initdb, and forces English messages because startOn matches on them.
func serverEnv() []string {
	env := []string{"LC_ALL=C"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (t tools) chown(path string) error {
	if t.runuser == "" {
		return nil
	}
	if err := os.Lchown(path, t.uid, t.gid); err != nil {
		return fmt.Errorf("hand %s to postgres: %w", path, err)
	}
	return nil
}

// prepareDir creates the data directory. As root it also hands it to the
// postgres account and makes every parent directory traversable by it (the
// x bit only, never r), since a root-owned 0700 temp dir would otherwise
// keep the server out of its own data.
func (c *Cluster) prepareDir() error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	t := c.tools
	if t.runuser == "" {
		return nil
	}
	fi, err := os.Stat(c.dir)
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != t.uid {
		// A cluster made by another account keeps its files; hand them all over.
		err := filepath.WalkDir(c.dir, func(path string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return t.chown(path)
		})
		if err != nil {
			return err
		}
	}
	for p := filepath.Dir(c.dir); ; p = filepath.Dir(p) {
		if err := t.makeTraversable(p); err != nil {
			return err
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func (t tools) makeTraversable(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	bit := fs.FileMode(0o001)
	switch {
	case int(st.Uid) == t.uid:
		bit = 0o100
	case int(st.Gid) == t.gid:
		bit = 0o010
	}
	if fi.Mode().Perm()&bit != 0 {
		return nil
	}
	keep := fi.Mode() & (fs.ModePerm | fs.ModeSticky | fs.ModeSetuid | fs.ModeSetgid)
	if err := os.Chmod(dir, keep|bit); err != nil {
		return fmt.Errorf("let postgres traverse %s: %w", dir, err)
	}
	return nil
}
