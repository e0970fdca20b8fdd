package pgcluster

import (
	"fmt"
	"io"
	"os/exec"
	"syscall"
)

// watchdog cleans up an Ephemeral cluster when its owner goes away.
//
// pg_ctl detaches the server into its own session, so nothing stops it when
// a test binary is killed by -timeout or a signal: servers and data dirs
// would pile up on CI machines. The watchdog is a shell in its own session
// blocked reading a pipe only we hold; the kernel closes it however we die,
// and the shell then stops the server and deletes the data directory.
type watchdog struct {
	cmd  *exec.Cmd
	pipe io.WriteCloser
}

const watchdogScript = `dir=$1; shift
cat >/dev/null
"$@" >/dev/null 2>&1
rm -rf "$dir"`

func startWatchdog(dir string, stopArgv []string) (*watchdog, error) {
	args := append([]string{"-c", watchdogScript, "pgcluster-watchdog", dir}, stopArgv...)
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env, cmd.Dir = serverEnv(), "/"
	// Its own session: a Ctrl-C to our process group must not kill it too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	pipe, err := cmd.StdinPipe() // close-on-exec: no other child inherits it
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start watchdog: %w", err)
	}
	return &watchdog{cmd: cmd, pipe: pipe}, nil
}

// finish triggers the cleanup now and waits for it.
func (w *watchdog) finish() error {
	w.pipe.Close()
	if err := w.cmd.Wait(); err != nil {
		return fmt.Errorf("watchdog cleanup: %w", err)
	}
	return nil
}
