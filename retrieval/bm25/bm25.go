// Package bm25 is the yardstick retrieval is measured against: plain BM25
// ranking by bleve over an in-memory index, with bleve's English analyzer
// (Unicode word tokens, lower case, English stop words, Porter stemming)
// and no tuning.
package bm25

import (
	"fmt"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/search/query"
	bleveindex "github.com/blevesearch/bleve_index_api"
)

// Analyzer names the analyzer documents and questions go through.
const Analyzer = en.AnalyzerName

// Index is an in-memory BM25 index of documents by id.
type Index struct {
	idx bleve.Index
}

type doc struct {
	Text string `json:"text"`
}

// New indexes docs (id to text). Scorch is used because only it keeps the
// field lengths BM25 needs; with an empty path it stays in memory.
func New(docs map[string]string) (*Index, error) {
	text := bleve.NewTextFieldMapping()
	text.Analyzer = Analyzer
	text.Store = false
	dm := bleve.NewDocumentStaticMapping()
	dm.AddFieldMappingsAt("text", text)
	im := bleve.NewIndexMapping()
	im.DefaultMapping = dm
	im.DefaultAnalyzer = Analyzer
	im.ScoringModel = bleveindex.BM25Scoring
	idx, err := bleve.NewUsing("", im, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("bm25 index: %w", err)
	}
	b := idx.NewBatch()
	for id, t := range docs {
		if err := b.Index(id, doc{Text: t}); err != nil {
			idx.Close()
			return nil, fmt.Errorf("bm25 index %s: %w", id, err)
		}
	}
	if err := idx.Batch(b); err != nil {
		idx.Close()
		return nil, fmt.Errorf("bm25 index: %w", err)
	}
	return &Index{idx: idx}, nil
}

// Search returns the ids of up to n documents, best first, matching any of
// the question's words.
func (x *Index) Search(question string, n int) ([]string, error) {
	q := query.NewMatchQuery(question)
	q.SetField("text")
	q.Analyzer = Analyzer
	req := bleve.NewSearchRequestOptions(q, n, 0, false)
	res, err := x.idx.Search(req)
	if err != nil {
		return nil, fmt.Errorf("bm25 search: %w", err)
	}
	ids := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		ids[i] = h.ID
	}
	return ids, nil
}

// Close releases the index.
func (x *Index) Close() error { return x.idx.Close() }
