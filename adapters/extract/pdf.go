package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// extractPDF runs Poppler's pdftotext (Debian poppler-utils, installed by
// scripts/deps) in its own process under prlimit: a hostile PDF can at worst
// exhaust that process's address space (Limits.MaxMemory) or CPU time, and
// its output is read only up to what MaxOutput allows before it is killed.
// Pure-Go PDF readers can't be held to a memory limit in-process.
//
// The default reading-order mode is used rather than -layout (which puts
// the columns of a two-column page side by side on each line) or -raw
// (content-stream order, often scrambled). -htmlmeta adds the document's
// Title to the output; the text itself comes unescaped inside <pre>. Each
// page becomes a section; blank lines separate paragraphs.
func extractPDF(ctx context.Context, data []byte, lim Limits, b *builder) error {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		return fmt.Errorf("pdf extraction needs prlimit (util-linux): %w", err)
	}
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		return fmt.Errorf("pdf extraction needs pdftotext (poppler-utils, see scripts/deps): %w", err)
	}
	cpu := int64(math.Ceil(lim.Timeout.Seconds())) + 1
	cmd := exec.CommandContext(ctx, prlimit,
		"--as="+strconv.FormatInt(lim.MaxMemory, 10),
		"--cpu="+strconv.FormatInt(cpu, 10),
		"--core=0",
		"--",
		pdftotext, "-enc", "UTF-8", "-eol", "unix", "-htmlmeta", "-", "-")
	cmd.Stdin = bytes.NewReader(data)
	cmd.Env = []string{}
	cmd.WaitDelay = time.Second
	stderr := &cappedBuffer{max: 16 << 10}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("pdftotext: %w", err)
	}
	if err := cmd.Start(); err != nil {
		if ctx.Err() != nil {
			return ctxErr(ctx, lim.Timeout)
		}
		return fmt.Errorf("pdftotext: %w", err)
	}
	// At most 4 bytes a rune, plus the HTML around the text.
	maxBytes := int64(lim.MaxOutput)*4 + 64<<10
	out, _ := io.ReadAll(io.LimitReader(stdout, maxBytes+1))
	overflow := int64(len(out)) > maxBytes
	if overflow {
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()

	switch {
	case ctx.Err() != nil:
		return ctxErr(ctx, lim.Timeout)
	case overflow:
		if err := writePDF(out, b); err != nil {
			return err
		}
		return errFull
	case waitErr != nil:
		return pdfFailure(waitErr, stderr.String(), lim)
	}
	if err := writePDF(out, b); err != nil {
		return err
	}
	if b.runes == 0 && strings.Contains(stderr.String(), "Error") {
		return fail(ErrDamaged, "PDF is truncated or damaged")
	}
	return nil
}

// pdfFailure explains why pdftotext failed.
func pdfFailure(err error, stderr string, lim Limits) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("pdftotext: %w", err)
	}
	lower := strings.ToLower(stderr)
	memory := strings.Contains(lower, "bad_alloc") || strings.Contains(lower, "out of memory")
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		switch ws.Signal() {
		case syscall.SIGXCPU, syscall.SIGKILL:
			return fail(ErrTimeout, "PDF took longer than %s to read", lim.Timeout)
		case syscall.SIGABRT:
			// std::bad_alloc under the address-space limit ends here.
			memory = true
		}
	}
	switch {
	case memory:
		return fail(ErrMemoryLimit, "PDF needs more than %s of memory to read", size(lim.MaxMemory))
	case strings.Contains(lower, "password"), strings.Contains(lower, "encrypt"):
		return fail(ErrEncrypted, "PDF is password-protected")
	}
	return fail(ErrDamaged, "PDF is truncated or damaged")
}

// writePDF parses pdftotext -htmlmeta output, complete or cut off.
func writePDF(out []byte, b *builder) error {
	s := strings.ToValidUTF8(string(out), "")
	head, body, _ := strings.Cut(s, "<pre>\n")
	if _, t, ok := strings.Cut(head, "<title>"); ok {
		t, _, _ = strings.Cut(t, "</title>")
		b.setTitle(html.UnescapeString(t))
	}
	body = strings.TrimSuffix(body, "</pre>\n</body>\n</html>\n")
	for _, page := range strings.Split(body, "\f") {
		if strings.TrimSpace(page) == "" {
			continue
		}
		if err := b.section(""); err != nil {
			return err
		}
		for _, p := range strings.Split(page, "\n\n") {
			b.para()
			if err := b.inline(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// cappedBuffer keeps the first max bytes written to it and drops the rest,
// so a chatty child can't fill our memory through stderr.
type cappedBuffer struct {
	max int
	buf bytes.Buffer
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string { return c.buf.String() }
