package retrieval

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// EvalSet is a labelled retrieval benchmark: Q&A items, and questions that
// each belong to one of them.
type EvalSet struct {
	Name      string         `json:"name"`
	Items     []EvalItem     `json:"items"`
	Questions []EvalQuestion `json:"questions"`
	// Unrelated are questions no item answers (off-topic, or on-topic but
	// not covered), to see how similar a wrong top hit can look.
	Unrelated []EvalQuestion `json:"unrelated,omitempty"`
}

// EvalItem is one Q&A knowledge item of a set.
type EvalItem struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// EvalQuestion is a question and the item that answers it (none for an
// unrelated question). Lang is the conversation's language, as a reply
// would search with.
type EvalQuestion struct {
	Text string `json:"text"`
	Item string `json:"item,omitempty"`
	Lang string `json:"lang"`
}

// Validate reports every question that names no item of the set.
func (s EvalSet) Validate() error {
	ids := map[string]bool{}
	var errs []error
	for _, it := range s.Items {
		if ids[it.ID] {
			errs = append(errs, fmt.Errorf("item %q twice", it.ID))
		}
		ids[it.ID] = true
	}
	for _, q := range s.Questions {
		if !ids[q.Item] {
			errs = append(errs, fmt.Errorf("question %q: no item %q", q.Text, q.Item))
		}
	}
	return errors.Join(errs...)
}

//go:embed testdata/companin-eval.json
var companinEval []byte

// CompaninEvalSet is our own set: support-style items and questions in
// English and Dutch, paraphrased and misspelt.
func CompaninEvalSet() (EvalSet, error) {
	var s EvalSet
	if err := json.Unmarshal(companinEval, &s); err != nil {
		return EvalSet{}, fmt.Errorf("companin eval set: %w", err)
	}
	return s, s.Validate()
}

// StackFAQFile is the set's file name inside its directory.
const StackFAQFile = "stackExchange-FAQ.json"

// LoadStackFAQ reads the StackFAQ set (Karan and Šnajder) from dir: each
// thread is an item (its question and first answer), each human paraphrase
// a question; placeholder paraphrases ("*") are skipped.
func LoadStackFAQ(dir string) (EvalSet, error) {
	raw, err := os.ReadFile(filepath.Join(dir, StackFAQFile))
	if err != nil {
		return EvalSet{}, err
	}
	var doc struct {
		Root struct {
			QAPair []struct {
				Question string          `json:"question"`
				Answer   json.RawMessage `json:"answer"` // a list, or one string
				Rephr    []*string       `json:"rephr"`
			} `json:"qapair"`
		} `json:"root"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return EvalSet{}, fmt.Errorf("stackfaq: %w", err)
	}
	s := EvalSet{Name: "stackfaq"}
	for i, p := range doc.Root.QAPair {
		var answers []string
		if err := json.Unmarshal(p.Answer, &answers); err != nil {
			var one string
			if err := json.Unmarshal(p.Answer, &one); err != nil {
				return EvalSet{}, fmt.Errorf("stackfaq thread %d: answer: %w", i, err)
			}
			answers = []string{one}
		}
		if len(answers) == 0 || strings.TrimSpace(p.Question) == "" {
			return EvalSet{}, fmt.Errorf("stackfaq thread %d: no question or answer", i)
		}
		id := fmt.Sprintf("t%03d", i)
		s.Items = append(s.Items, EvalItem{ID: id, Question: p.Question, Answer: answers[0]})
		for _, r := range p.Rephr {
			if r == nil || !hasContent(*r) {
				continue
			}
			s.Questions = append(s.Questions, EvalQuestion{Text: strings.TrimSpace(*r), Item: id, Lang: "en"})
		}
	}
	return s, s.Validate()
}

func hasContent(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
}

// Tally accumulates the ranks of the right item over a set's questions.
type Tally struct {
	Questions int
	hits1     int
	hitsK     int
	rr        float64
	elapsed   time.Duration
}

// Add records one question: rank is the 1-based rank of its item among the
// results (0 when absent), k the cut-off of hit@k, took the search time.
func (t *Tally) Add(rank, k int, took time.Duration) {
	t.Questions++
	t.elapsed += took
	if rank <= 0 {
		return
	}
	if rank == 1 {
		t.hits1++
	}
	if rank <= k {
		t.hitsK++
	}
	t.rr += 1 / float64(rank)
}

func (t Tally) ratio(n int) float64 {
	if t.Questions == 0 {
		return 0
	}
	return float64(n) / float64(t.Questions)
}

// Hit1 is the share of questions whose item came first.
func (t Tally) Hit1() float64 { return t.ratio(t.hits1) }

// HitK is the share of questions whose item was among the first k.
func (t Tally) HitK() float64 { return t.ratio(t.hitsK) }

// MRR is the mean reciprocal rank of the item (0 where it was not returned).
func (t Tally) MRR() float64 {
	if t.Questions == 0 {
		return 0
	}
	return t.rr / float64(t.Questions)
}

// MeanLatency is the mean search time.
func (t Tally) MeanLatency() time.Duration {
	if t.Questions == 0 {
		return 0
	}
	return t.elapsed / time.Duration(t.Questions)
}
