// Package ollamatest gives tests a real Ollama server serving a tiny model.
//
// No model can be downloaded in tests, so the package generates one: a
// llama-architecture GGUF with random weights from a fixed seed (model.go,
// gguf.go), uploaded to the server as a blob and created as a model that
// serves both /api/chat (streaming) and /api/embed, deterministically, in
// milliseconds. Its text is noise: tests with it prove plumbing (streaming,
// cancellation, timeouts, retries), not answers.
//
// The server is, in order of preference:
//   - the one OLLAMA_HOST names, with the models OLLAMA_CHAT_MODEL and
//     OLLAMA_EMBED_MODEL (a real Ollama with real models: same tests);
//   - an `ollama serve` this test process starts on first use and shares
//     among its tests, from COMPANIN_OLLAMA_BIN or the path scripts/ollama
//     builds to. A missing binary fails the test: run scripts/ollama.
//
// Usage:
//
//	func TestMain(m *testing.M) { ollamatest.Main(m) }
//
//	func TestX(t *testing.T) {
//		srv := ollamatest.Start(t)
//		c, err := ollama.New(srv.Config())
//		...
//	}
//
// Main stops the server when the package's tests end. Without it the server
// still goes when the test process does, however it ends (killed by -timeout
// included): a watchdog in its own session holds the other end of a pipe
// only this process has, and kills the server's process group when the
// kernel closes it. Main just makes that happen before `go test` reports.
package ollamatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/companin/companin/adapters/ollama"
)

// Environment variables read by Start.
const (
	EnvBin        = "COMPANIN_OLLAMA_BIN" // path of the ollama binary to run
	EnvHost       = "OLLAMA_HOST"         // a running server to use instead
	EnvChatModel  = "OLLAMA_CHAT_MODEL"   // its chat model (with EnvHost)
	EnvEmbedModel = "OLLAMA_EMBED_MODEL"  // its embedding model (with EnvHost)
)

// Version is the Ollama release scripts/ollama builds.
const Version = "v0.6.8"

// ModelName is the tiny model's name on a server this package starts;
// EmbedModelName is the same weights under a second name for embeddings, so
// chat and embed requests never make the server reload one runner with
// other settings (Ollama v0.6.8 could hang in that reload under load).
const (
	ModelName      = "companin-tiny"
	EmbedModelName = "companin-tiny-embed"
)

// Server is a running Ollama server and the models to use on it.
type Server struct {
	Host       string // base URL, e.g. http://127.0.0.1:40123
	ChatModel  string
	EmbedModel string
}

// Config returns ollama.DefaultConfig pointed at s, sized for tests: a short
// answer (a random model never stops on its own), greedy sampling.
func (s *Server) Config() ollama.Config {
	cfg := ollama.DefaultConfig()
	cfg.Host, cfg.ChatModel, cfg.EmbedModel = s.Host, s.ChatModel, s.EmbedModel
	cfg.NumCtx = 512
	cfg.NumPredict = 32
	cfg.Temperature = 0
	return cfg
}

var (
	once     sync.Once
	shared   *process // nil when using EnvHost
	server   Server
	setupErr error
)

// Start returns the server for this test process, starting it on first use.
// Tests may share it in parallel; the server runs one request at a time.
func Start(t testing.TB) *Server {
	t.Helper()
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		server, shared, setupErr = setup(ctx)
	})
	if setupErr != nil {
		t.Fatalf("ollamatest: %v", setupErr)
	}
	s := server
	return &s
}

// Main runs the tests of a package that uses Start; call it from TestMain.
// It stops the server, if one was started, before exiting with the tests'
// status.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "ollamatest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

func setup(ctx context.Context) (Server, *process, error) {
	if host := os.Getenv(EnvHost); host != "" {
		s := Server{Host: host, ChatModel: os.Getenv(EnvChatModel), EmbedModel: os.Getenv(EnvEmbedModel)}
		if !strings.Contains(s.Host, "://") {
			s.Host = "http://" + s.Host
		}
		if s.ChatModel == "" || s.EmbedModel == "" {
			return Server{}, nil, fmt.Errorf("%s is set: also set %s and %s to models it has", EnvHost, EnvChatModel, EnvEmbedModel)
		}
		return s, nil, nil
	}

	bin := os.Getenv(EnvBin)
	if bin == "" {
		bin = defaultBin()
	}
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		return Server{}, nil, fmt.Errorf("no ollama binary at %s: run scripts/ollama to build it (about two minutes, once), "+
			"or set %s to one, or %s to a running server", bin, EnvBin, EnvHost)
	}
	p, err := startProcess(ctx, bin)
	if err != nil {
		return Server{}, nil, err
	}
	s := Server{Host: p.host, ChatModel: ModelName, EmbedModel: EmbedModelName}
	if err := createTinyModel(ctx, s.Host); err != nil {
		err = fmt.Errorf("create tiny model: %w%s", err, p.logTail())
		p.stop()
		return Server{}, nil, err
	}
	if err := warmUp(ctx, s); err != nil {
		err = fmt.Errorf("warm up tiny model: %w%s", err, p.logTail())
		p.stop()
		return Server{}, nil, err
	}
	return s, p, nil
}

// warmUp loads both models before any test runs. A test that gives up on a
// request while its model is still loading (the timeout tests do) has left
// the v0.6.8 server stalled for minutes; with the models loaded first, no
// request ever waits for a load.
func warmUp(ctx context.Context, s Server) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	base, err := url.Parse(s.Host)
	if err != nil {
		return err
	}
	c := api.NewClient(base, http.DefaultClient)
	stream := false
	err = c.Chat(ctx, &api.ChatRequest{Model: s.ChatModel, Stream: &stream,
		Messages: []api.Message{{Role: "user", Content: "hello"}},
		Options:  map[string]any{"num_predict": 1, "num_ctx": 512}}, func(api.ChatResponse) error { return nil })
	if err != nil {
		return fmt.Errorf("chat: %w", err)
	}
	if _, err := c.Embed(ctx, &api.EmbedRequest{Model: s.EmbedModel, Input: "hello",
		Options: map[string]any{"num_ctx": 512}}); err != nil {
		return fmt.Errorf("embed: %w", err)
	}
	return nil
}

// defaultBin is where scripts/ollama puts the binary; keep them in step.
func defaultBin() string {
	tools := os.Getenv("COMPANIN_TOOLS")
	if tools == "" {
		home, _ := os.UserHomeDir()
		tools = filepath.Join(home, ".cache", "companin")
	}
	return filepath.Join(tools, "ollama-"+Version, "bin", "ollama")
}

// process is an `ollama serve` in its own process group. The group matters:
// the server runs models in `ollama runner` children that would outlive it.
type process struct {
	host     string
	dir      string // HOME, models and the log; removed by the watchdog
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has been waited for
	watchdog *exec.Cmd
	pipe     io.WriteCloser // closing it makes the watchdog clean up
}

// watchdogScript waits until its stdin closes, then kills the process group
// $1 and removes directory $2.
const watchdogScript = `cat >/dev/null
kill -KILL -"$1" 2>/dev/null
rm -rf "$2"`

func startProcess(ctx context.Context, bin string) (*process, error) {
	dir, err := os.MkdirTemp("", "ollamatest-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "ollama.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	for _, d := range []string{"home", "models", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	// A fresh environment: the developer's own OLLAMA_* settings and models
	// must not leak in.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(dir, "home"),
		"TMPDIR=" + filepath.Join(dir, "tmp"),
		"OLLAMA_HOST=" + addr,
		"OLLAMA_MODELS=" + filepath.Join(dir, "models"),
		"OLLAMA_CONTEXT_LENGTH=512",
		"OLLAMA_NUM_PARALLEL=1",
		"OLLAMA_MAX_LOADED_MODELS=2",
		// Loaded for the whole run: the server dies with the test process.
		"OLLAMA_KEEP_ALIVE=1h",
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	p := &process{host: "http://" + addr, dir: dir, cmd: cmd, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()

	p.watchdog = exec.Command("/bin/sh", "-c", watchdogScript, "ollamatest-watchdog", strconv.Itoa(cmd.Process.Pid), dir)
	p.watchdog.Dir = "/"
	// Its own session: a Ctrl-C to our process group must not kill it first.
	p.watchdog.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if p.pipe, err = p.watchdog.StdinPipe(); err == nil { // close-on-exec: no other child inherits it
		err = p.watchdog.Start()
	}
	if err != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start watchdog: %w", err)
	}

	if err := p.waitReady(ctx); err != nil {
		err = fmt.Errorf("ollama serve on %s: %w%s", addr, err, p.logTail())
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *process) waitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.host+"/api/version", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("exited: %v", p.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// stop kills the server's process group and removes its directory, through
// the watchdog, and waits for both.
func (p *process) stop() error {
	p.pipe.Close()
	werr := p.watchdog.Wait()
	<-p.exited
	if werr != nil {
		return fmt.Errorf("watchdog: %w", werr)
	}
	return nil
}

// logTail returns the end of the server's log, for error messages.
func (p *process) logTail() string {
	b, err := os.ReadFile(filepath.Join(p.dir, "ollama.log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return "\n--- ollama serve log (end) ---\n" + string(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// createTinyModel uploads the tiny GGUF as a blob and creates ModelName
// from it: POST /api/blobs/sha256:<hex>, then POST /api/create with files
// mapping a file name to that digest (the v0.6.8 API; a Modelfile is no
// longer accepted).
func createTinyModel(ctx context.Context, host string) error {
	gguf, err := tinyModel()
	if err != nil {
		return err
	}
	base, err := url.Parse(host)
	if err != nil {
		return err
	}
	c := api.NewClient(base, http.DefaultClient)
	digest := fmt.Sprintf("sha256:%x", sha256.Sum256(gguf))
	if err := c.CreateBlob(ctx, digest, bytes.NewReader(gguf)); err != nil {
		return fmt.Errorf("upload blob: %w", err)
	}
	for _, name := range []string{ModelName, EmbedModelName} {
		if err := create(ctx, c, name, digest); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
	}
	return nil
}

func create(ctx context.Context, c *api.Client, name, digest string) error {
	req := &api.CreateRequest{
		Model:    name,
		Files:    map[string]string{ModelName + ".gguf": digest},
		Template: chatTemplate,
		// One thread: llama.cpp threads spin while they wait, and two test
		// servers (two packages run in parallel) spinning on two cores
		// starved each other for minutes.
		Parameters: map[string]any{"num_thread": 1},
		Stream:     new(false),
	}
	var status string
	if err := c.Create(ctx, req, func(r api.ProgressResponse) error {
		status = r.Status
		return nil
	}); err != nil {
		return err
	}
	if status != "success" {
		return errors.New("create ended with status " + strconv.Quote(status))
	}
	return nil
}
