package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/adapters/embedding"
	"github.com/companin/companin/adapters/eventstore/pgstore"
	"github.com/companin/companin/adapters/extractive"
	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/knowledge"
	"github.com/companin/companin/projections"
	"github.com/companin/companin/retrieval"
	"github.com/companin/companin/retrieval/bm25"
)

const evalUsage = "usage: companin eval [--set stackfaq|companin|all] [--k 5] [--data DIR] [--keep] [--misses]"

// runEval implements `companin eval`: it measures retrieval quality on
// labelled sets loaded through the real ingestion path, in every mode, next
// to a plain BM25 baseline, and prints hit@1, hit@k, MRR and latency.
func runEval(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	which := fs.String("set", "all", "stackfaq, companin or all")
	k := fs.Int("k", 5, "cut-off of hit@k")
	data := fs.String("data", filepath.Join("..", "shared", "datasets", "stackfaq"), "directory holding the StackFAQ set")
	keep := fs.Bool("keep", false, "keep the evaluation's knowledge instead of removing it afterwards")
	misses := fs.Bool("misses", false, "also list every question some method did not rank first, with each method's rank")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w\n%s", err, evalUsage)
	}
	if *k < 1 {
		return errors.New("eval: --k must be at least 1")
	}
	dirs := []string{*data}
	if shared := os.Getenv("COMPANIN_SHARED"); shared != "" && !flagSet(fs, "data") {
		dirs = append(dirs, filepath.Join(shared, "datasets", "stackfaq"))
	}
	sets, err := evalSets(*which, dirs)
	if err != nil {
		return err
	}
	pool, stop, err := openDatabase(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	ev, err := newEvaluator(pool)
	if err != nil {
		return err
	}
	defer ev.store.Close()
	if *misses {
		ev.misses = stdout
	}
	var reports []evalReport
	for _, s := range sets {
		r, err := ev.run(ctx, s, *k, *keep)
		if err != nil {
			return fmt.Errorf("eval %s: %w", s.Name, err)
		}
		reports = append(reports, r)
	}
	return printEval(stdout, reports, *k)
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// evalSets loads the sets named by which, StackFAQ from the first of dirs
// that holds it.
func evalSets(which string, dirs []string) ([]retrieval.EvalSet, error) {
	var sets []retrieval.EvalSet
	if which == "stackfaq" || which == "all" {
		var errs []error
		for _, d := range dirs {
			s, err := retrieval.LoadStackFAQ(d)
			if err == nil {
				sets = append(sets, s)
				errs = nil
				break
			}
			errs = append(errs, err)
		}
		if errs != nil {
			return nil, fmt.Errorf("eval: StackFAQ set not found (--data or $COMPANIN_SHARED): %w", errors.Join(errs...))
		}
	}
	if which == "companin" || which == "all" {
		s, err := retrieval.CompaninEvalSet()
		if err != nil {
			return nil, err
		}
		sets = append(sets, s)
	}
	if sets == nil {
		return nil, fmt.Errorf("eval: unknown set %q\n%s", which, evalUsage)
	}
	return sets, nil
}

// evaluator ingests sets and measures retrieval over them, wired like the
// server.
type evaluator struct {
	pool      *pgxpool.Pool
	store     *pgstore.Store
	codec     *event.Codec
	knowledge *commands.Knowledge
	engine    *retrieval.Engine
	misses    io.Writer // when not nil, questions not ranked first by every method are listed here
	// unrelated are asked of every set, to compare the top hits of
	// questions the set cannot answer with those of questions it can.
	unrelated []retrieval.EvalQuestion
}

func newEvaluator(pool *pgxpool.Pool) (*evaluator, error) {
	own, err := retrieval.CompaninEvalSet()
	if err != nil {
		return nil, err
	}
	codec := newCodec()
	store := pgstore.New(pool)
	return &evaluator{pool: pool, store: store, codec: codec,
		knowledge: commands.NewKnowledge(store, codec, nil),
		engine:    retrieval.New(pool, projections.NewQueries(pool), embedding.Hashing{}),
		unrelated: own.Unrelated}, nil
}

// evalRow is one method's result on one set.
type evalRow struct {
	Method string
	retrieval.Tally
}

// evalReport is a set's results.
type evalReport struct {
	Set   string
	Items int
	Depth int // results asked for per question, the cut-off of MRR
	Rows  []evalRow
	// Right and Unrelated are the hybrid top hits of the questions whose
	// item came first, and of the unrelated questions.
	Right, Unrelated []projections.Hit
}

// row returns the result of method.
func (r evalReport) row(method string) evalRow {
	for _, x := range r.Rows {
		if x.Method == method {
			return x
		}
	}
	return evalRow{}
}

var evalModes = []struct {
	name string
	mode retrieval.Mode
}{{"fulltext", retrieval.FullText}, {"vector", retrieval.Vector}, {"hybrid", retrieval.Hybrid}}

// run loads set into a fresh organization through AddQA and the knowledge
// projection, then asks every question in every mode.
func (ev *evaluator) run(ctx context.Context, set retrieval.EvalSet, k int, keep bool) (evalReport, error) {
	org := uuid.New()
	m := commands.Meta{OrganizationID: org, Actor: "eval"}
	items := make(map[string]uuid.UUID, len(set.Items))
	var last event.Position
	for _, it := range set.Items {
		id := uuid.New()
		res, err := ev.knowledge.AddQA(ctx, m, id, knowledge.QA{Question: it.Question, Answer: it.Answer,
			Source: "eval:" + set.Name})
		if err != nil {
			return evalReport{}, fmt.Errorf("add item %s: %w", it.ID, err)
		}
		items[it.ID] = id
		if last.Less(res.Position) {
			last = res.Position
		}
	}
	proj := projections.ByName(ev.pool, ev.codec, projections.Knowledge)
	if err := projections.CatchUp(ctx, ev.store, proj, last); err != nil {
		return evalReport{}, fmt.Errorf("project knowledge: %w", err)
	}
	if !keep {
		defer ev.remove(context.WithoutCancel(ctx), m, items, proj)
	}
	if err := ev.engine.EnsureEmbeddings(ctx, org); err != nil {
		return evalReport{}, err
	}

	depth := max(k, 10)
	rep := evalReport{Set: set.Name, Items: len(set.Items), Depth: depth}
	ranks := make([][]int, 0, len(evalModes)+1)
	for _, md := range evalModes {
		// One untimed search loads the organization's vector index.
		if _, err := ev.engine.Search(ctx, retrieval.Query{Org: org, Text: "warm up", Limit: depth, Mode: md.mode}); err != nil {
			return evalReport{}, err
		}
		var t retrieval.Tally
		rs := make([]int, len(set.Questions))
		for i, q := range set.Questions {
			start := time.Now()
			hits, err := ev.engine.Search(ctx, retrieval.Query{Org: org, Lang: q.Lang, Text: q.Text, Limit: depth, Mode: md.mode})
			took := time.Since(start)
			if err != nil {
				return evalReport{}, fmt.Errorf("%s search %q: %w", md.name, q.Text, err)
			}
			for j, h := range hits {
				if h.KnowledgeID == items[q.Item] {
					rs[i] = j + 1
					break
				}
			}
			t.Add(rs[i], k, took)
			if md.mode == retrieval.Hybrid && rs[i] == 1 {
				rep.Right = append(rep.Right, hits[0])
			}
		}
		rep.Rows = append(rep.Rows, evalRow{Method: md.name, Tally: t})
		ranks = append(ranks, rs)
	}
	for _, q := range ev.unrelated {
		hits, err := ev.engine.Search(ctx, retrieval.Query{Org: org, Lang: q.Lang, Text: q.Text, Limit: 1})
		if err != nil {
			return evalReport{}, fmt.Errorf("search %q: %w", q.Text, err)
		}
		if len(hits) > 0 {
			rep.Unrelated = append(rep.Unrelated, hits[0])
		}
	}

	docs := make(map[string]string, len(set.Items))
	for _, it := range set.Items {
		docs[it.ID] = it.Question + "\n" + it.Answer
	}
	base, err := bm25.New(docs)
	if err != nil {
		return evalReport{}, err
	}
	defer base.Close()
	var t retrieval.Tally
	rs := make([]int, len(set.Questions))
	for i, q := range set.Questions {
		start := time.Now()
		ids, err := base.Search(q.Text, depth)
		took := time.Since(start)
		if err != nil {
			return evalReport{}, err
		}
		for j, id := range ids {
			if id == q.Item {
				rs[i] = j + 1
				break
			}
		}
		t.Add(rs[i], k, took)
	}
	rep.Rows = append(rep.Rows, evalRow{Method: "bm25 (bleve)", Tally: t})
	ranks = append(ranks, rs)
	if ev.misses != nil {
		printMisses(ev.misses, set, rep, ranks)
	}
	return rep, nil
}

// printMisses lists the questions some method did not rank first, with
// every method's rank of the right item (- when not returned).
func printMisses(w io.Writer, set retrieval.EvalSet, rep evalReport, ranks [][]int) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%.8s\t", r.Method)
	}
	fmt.Fprintf(tw, "item\tquestion (%s)\n", set.Name)
	for i, q := range set.Questions {
		first := true
		for _, rs := range ranks {
			first = first && rs[i] == 1
		}
		if first {
			continue
		}
		for _, rs := range ranks {
			if rs[i] == 0 {
				fmt.Fprint(tw, "-\t")
			} else {
				fmt.Fprintf(tw, "%d\t", rs[i])
			}
		}
		fmt.Fprintf(tw, "%s\t%s\n", q.Item, q.Text)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// remove takes the evaluation's items out of the read models again, so
// repeated runs do not pile up knowledge in a development database.
func (ev *evaluator) remove(ctx context.Context, m commands.Meta, items map[string]uuid.UUID, proj *projections.Projection) {
	var last event.Position
	for _, id := range items {
		res, err := ev.knowledge.Remove(ctx, m, id)
		if err != nil {
			fmt.Fprintf(os.Stderr, "eval: remove item %s: %v\n", id, err)
			return
		}
		if last.Less(res.Position) {
			last = res.Position
		}
	}
	if err := projections.CatchUp(ctx, ev.store, proj, last); err != nil {
		fmt.Fprintf(os.Stderr, "eval: remove items: %v\n", err)
	}
}

func printEval(w io.Writer, reports []evalReport, k int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t")
		}
		fmt.Fprintf(tw, "set\tmethod\titems\tquestions\thit@1\thit@%d\tMRR@%d\tmean latency\t\n", k, r.Depth)
		for _, x := range r.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%s\t\n", r.Set, x.Method, r.Items, x.Questions,
				x.Hit1(), x.HitK(), x.MRR(), x.MeanLatency().Round(time.Microsecond))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nbm25 (bleve): in-memory scorch index, BM25 scoring, analyzer %q (stop words, Porter stemming); vectors: %s\n",
		bm25.Analyzer, embedding.Hashing{}.Model())
	fmt.Fprintf(w, "\nhybrid top hit, vector similarity (p10/p50/p90/max) and share extractive.Relevant accepts (coverage >= %.2f or similarity >= %.2f):\n",
		extractive.MinCoverage, extractive.MinSimilarity)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, r := range reports {
		for _, g := range []struct {
			name string
			hits []projections.Hit
		}{{"right answers", r.Right}, {"unrelated questions", r.Unrelated}} {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\trelevant %.0f%%\t\n", r.Set, g.name, len(g.hits), similarities(g.hits), 100*relevantShare(g.hits))
		}
	}
	return tw.Flush()
}

// similarities summarises the hits' similarity as p10/p50/p90/max.
func similarities(hits []projections.Hit) string {
	if len(hits) == 0 {
		return "-"
	}
	s := make([]float64, len(hits))
	for i, h := range hits {
		s[i] = h.Similarity
	}
	slices.Sort(s)
	at := func(p float64) float64 { return s[int(p*float64(len(s)-1))] }
	return fmt.Sprintf("%.2f/%.2f/%.2f/%.2f", at(0.1), at(0.5), at(0.9), s[len(s)-1])
}

func relevantShare(hits []projections.Hit) float64 {
	if len(hits) == 0 {
		return 0
	}
	n := 0
	for _, h := range hits {
		if extractive.Relevant(h) {
			n++
		}
	}
	return float64(n) / float64(len(hits))
}
