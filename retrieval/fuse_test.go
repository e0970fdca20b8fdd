package retrieval

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/companin/companin/projections"
)

func randomIndex(r *rand.Rand, rows, dims int) *orgIndex {
	x := &orgIndex{dims: dims, pos: map[uuid.UUID]int{}}
	for i := range rows {
		id := uuid.New()
		x.pos[id] = i
		x.ids = append(x.ids, id)
		a := uuid.Nil
		if i%3 == 0 {
			a = uuid.UUID{1}
		}
		x.assistants = append(x.assistants, a)
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		normalize(v)
		x.vecs = append(x.vecs, v...)
	}
	return x
}

// TestNearest checks the parallel scan against sorting every row.
func TestNearest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	other := uuid.UUID{2}
	for _, rows := range []int{0, 10, scanParallelRows + 123} {
		x := randomIndex(r, rows, 16)
		v := make([]float32, 16)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		normalize(v)
		for _, asst := range []*uuid.UUID{nil, &other} {
			var want []scored
			for i, id := range x.ids {
				if asst == nil || x.assistants[i] == uuid.Nil {
					want = append(want, scored{id, dot(x.row(i), v)})
				}
			}
			slices.SortFunc(want, func(a, b scored) int {
				switch {
				case a.score > b.score:
					return -1
				case a.score < b.score:
					return 1
				}
				return 0
			})
			want = want[:min(len(want), 50)]
			got := x.nearest(v, asst, 50)
			if len(got) != len(want) {
				t.Fatalf("rows %d: got %d results, want %d", rows, len(got), len(want))
			}
			for i := range got {
				if got[i].score != want[i].score {
					t.Fatalf("rows %d: result %d has score %f, want %f", rows, i, got[i].score, want[i].score)
				}
			}
		}
	}
}

func TestFuse(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := randomIndex(r, 4, 8)
	v := append([]float32(nil), x.row(2)...) // the question is passage 2
	vs := &vectorResult{idx: x, qv: v, top: x.nearest(v, nil, 2)}
	fts := []projections.Hit{
		{ChunkID: x.ids[0], KnowledgeID: uuid.New(), Coverage: 1},
		{ChunkID: x.ids[2], KnowledgeID: uuid.New(), Coverage: 0.5},
	}
	got := fuse(fts, vs)
	if len(got) < 2 || got[0].ChunkID != x.ids[2] {
		t.Fatalf("first hit %v, want passage 2 (similarity 1, half the words)", got)
	}
	for _, h := range got {
		want := coverageWeight*h.Coverage + (1-coverageWeight)*h.Similarity
		if h.Score != want {
			t.Errorf("hit %s: score %f, want %f", h.ChunkID, h.Score, want)
		}
		if sim, _ := vs.similarity(h.ChunkID); float64(sim) != h.Similarity {
			t.Errorf("hit %s: similarity %f, want %f", h.ChunkID, h.Similarity, sim)
		}
	}
	if got[0].KnowledgeID != fts[1].KnowledgeID {
		t.Error("a full-text hit lost its passage fields in fusion")
	}
	seen := map[uuid.UUID]bool{}
	for _, h := range got {
		if seen[h.ChunkID] {
			t.Errorf("passage %s twice", h.ChunkID)
		}
		seen[h.ChunkID] = true
	}
}
