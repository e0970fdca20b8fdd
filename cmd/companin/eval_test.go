package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/companin/companin/adapters/pgtest"
	"github.com/companin/companin/retrieval"
)

// TestEvalCompanin runs `companin eval` on our own set, so a change that
// makes hybrid retrieval worse than either of its methods fails `make test`
// (the StackFAQ set lives outside the repository and takes longer).
func TestEvalCompanin(t *testing.T) {
	t.Parallel()
	set, err := retrieval.CompaninEvalSet()
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Items) < 40 || len(set.Questions) < 60 {
		t.Errorf("companin set has %d items and %d questions, want at least 40 and 60", len(set.Items), len(set.Questions))
	}
	ev, err := newEvaluator(pgtest.Pool(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ev.store.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := ev.run(ctx, set, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printEval(&out, []evalReport{rep}, 5); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", out.String())

	hybrid := rep.row("hybrid")
	if hybrid.Questions != len(set.Questions) {
		t.Fatalf("hybrid asked %d questions, want %d", hybrid.Questions, len(set.Questions))
	}
	for _, other := range []string{"fulltext", "vector"} {
		o := rep.row(other)
		if hybrid.MRR() < o.MRR() {
			t.Errorf("hybrid MRR %.3f below %s MRR %.3f", hybrid.MRR(), other, o.MRR())
		}
		if hybrid.Hit1() < o.Hit1() {
			t.Errorf("hybrid hit@1 %.3f below %s hit@1 %.3f", hybrid.Hit1(), other, o.Hit1())
		}
	}
}
