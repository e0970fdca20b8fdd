package pgcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Attach returns the server already running on dir, or ok=false when none
// is. The caller does not own it: a command run next to `companin serve`
// (org create, migrate) uses the serving cluster and must not stop it.
func Attach(ctx context.Context, dir string) (c *Cluster, ok bool, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, false, fmt.Errorf("pgcluster: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); err != nil {
		return nil, false, nil
	}
	t, err := findTools(dir)
	if err != nil {
		return nil, false, fmt.Errorf("pgcluster: %w", err)
	}
	c = &Cluster{dir: dir, tools: t, log: nil}
	c.log = discard{}
	running, err := c.running(ctx)
	if err != nil || !running {
		return nil, false, err
	}
	// postmaster.pid: pid, data dir, start time, port, socket dir, ...
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return nil, false, nil
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return nil, false, nil
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return nil, false, nil
	}
	c.port = port
	return c, true, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
