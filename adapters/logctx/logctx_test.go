package logctx

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestAttributesFromContext(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler{slog.NewJSONHandler(&buf, nil)})
	ctx := With(context.Background(), "request_id", "r1")
	ctx = With(ctx, "correlation_id", "c1")
	log.InfoContext(ctx, "hello", "k", "v")
	log.Info("no context")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], `"request_id":"r1"`) || !strings.Contains(lines[0], `"correlation_id":"c1"`) {
		t.Errorf("line = %s", lines[0])
	}
	if strings.Contains(lines[1], "request_id") {
		t.Errorf("attributes leaked: %s", lines[1])
	}
}
