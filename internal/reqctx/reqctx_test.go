package reqctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"testing"

	"github.com/neutrino-net/neutrino/internal/reqctx"
)

func TestNewRequestID(t *testing.T) {
	pattern := regexp.MustCompile(`^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := reqctx.NewRequestID(), reqctx.NewRequestID()
	if !pattern.MatchString(a) || a == b {
		t.Errorf("request ids %q, %q: want two different req-<uuid4>", a, b)
	}
	ctx := reqctx.WithNewRequestID(context.Background())
	if id := reqctx.RequestID(ctx); !pattern.MatchString(id) {
		t.Errorf("WithNewRequestID carries %q", id)
	}
	if id := reqctx.RequestID(context.Background()); id != "" {
		t.Errorf("a bare context carries request id %q", id)
	}
}

func TestLogHandlerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(reqctx.LogHandler{Handler: slog.NewJSONHandler(&buf, nil)}).With("part", "l2").WithGroup("g")
	log.InfoContext(reqctx.WithRequestID(context.Background(), "req-1"), "with", "k", "v")
	log.Info("without")
	dec := json.NewDecoder(&buf)
	var with, without map[string]any
	if err := dec.Decode(&with); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&without); err != nil {
		t.Fatal(err)
	}
	// Attributes added by the handler land in the open group, as slog does.
	if g, _ := with["g"].(map[string]any); g["request_id"] != "req-1" || with["part"] != "l2" {
		t.Errorf("line logged with a request's context: %v", with)
	}
	if _, has := without["g"]; has {
		t.Errorf("line logged without a request id has one: %v", without)
	}
}
