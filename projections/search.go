package projections

import (
	"context"
	"strings"
	"unicode"

	"github.com/google/uuid"
)

// Hit is one retrieved passage.
type Hit struct {
	KnowledgeID uuid.UUID `json:"knowledge_id"`
	ChunkID     uuid.UUID `json:"chunk_id"`
	Title       string    `json:"title"`
	Heading     string    `json:"-"`
	Body        string    `json:"-"`
	Snippet     string    `json:"snippet"`
	// Coverage is the share of the question's content words the passage
	// contains (0..1); Score orders hits (coverage first, then rank).
	Coverage float64 `json:"-"`
	// Matched is how many of the question's content words it contains.
	Matched int `json:"-"`
	// Similarity is the cosine similarity of passage and question vectors
	// (0 when the vector side did not find the passage).
	Similarity float64 `json:"-"`
	Score      float64 `json:"score"`
}

// Chunks returns passages by id as hits without scores.
func (q *Queries) Chunks(ctx context.Context, org uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]Hit, error) {
	rows, err := q.pool.Query(ctx, `SELECT knowledge_id, id, title, heading, body FROM knowledge_chunks
		WHERE organization_id = $1 AND id = ANY($2)`, org, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[uuid.UUID]Hit, len(ids))
	for rows.Next() {
		var h Hit
		if err := rows.Scan(&h.KnowledgeID, &h.ChunkID, &h.Title, &h.Heading, &h.Body); err != nil {
			return nil, err
		}
		h.Snippet = snippetOf(h.Body)
		out[h.ChunkID] = h
	}
	return out, rows.Err()
}

// snippetOf is the start of a passage, cut at a word boundary.
func snippetOf(body string) string {
	r := []rune(strings.TrimSpace(body))
	if len(r) <= 200 {
		return string(r)
	}
	s := string(r[:200])
	if i := strings.LastIndexByte(s, ' '); i > 100 {
		s = s[:i]
	}
	return s + " …"
}

// textSearchConfigs maps a language tag's primary subtag to a PostgreSQL
// text search configuration that ships with the server.
var textSearchConfigs = map[string]string{
	"en": "english", "nl": "dutch", "de": "german", "fr": "french", "es": "spanish",
	"it": "italian", "pt": "portuguese", "sv": "swedish", "da": "danish", "no": "norwegian",
	"nb": "norwegian", "fi": "finnish", "ru": "russian", "hu": "hungarian", "ro": "romanian",
	"tr": "turkish",
}

// SearchConfig returns the text search configuration for a language tag.
func SearchConfig(lang string) string {
	primary, _, _ := strings.Cut(strings.ToLower(lang), "-")
	if c, ok := textSearchConfigs[primary]; ok {
		return c
	}
	return "english"
}

// words splits text into search words; anything else is dropped, so the
// words can be fed to to_tsquery without escaping.
func words(text string) []string {
	f := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	seen := map[string]bool{}
	out := f[:0]
	for _, w := range f {
		if !seen[w] && len(out) < 32 {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// Search finds the passages of organization org (and of assistant, or of
// the whole organization when an item is not scoped) that best match text,
// with full-text search in language lang.
func (q *Queries) Search(ctx context.Context, org uuid.UUID, assistant *uuid.UUID, lang, text string, limit int) ([]Hit, error) {
	return q.search(ctx, org, assistant, lang, text, limit, nil)
}

// SearchWithin scores only the given passages plus those containing every
// content word of text. Ranking every passage that shares any word with a
// question costs time proportional to the organization's knowledge; hybrid
// search already has the nearest passages by vector and needs the words
// only to score them and to catch exact matches the vectors missed.
func (q *Queries) SearchWithin(ctx context.Context, org uuid.UUID, assistant *uuid.UUID, lang, text string, limit int, within []uuid.UUID) ([]Hit, error) {
	if within == nil {
		within = []uuid.UUID{}
	}
	return q.search(ctx, org, assistant, lang, text, limit, within)
}

func (q *Queries) search(ctx context.Context, org uuid.UUID, assistant *uuid.UUID, lang, text string, limit int, within []uuid.UUID) ([]Hit, error) {
	ws := words(text)
	if len(ws) == 0 {
		return []Hit{}, nil
	}
	limit = clampLimit(limit)
	// Two stages: the index finds the passages sharing any word, the cheap
	// rank keeps the best few hundred, and only those pay for the coverage
	// count and the snippet, which cost a parse of the passage each.
	rows, err := q.pool.Query(ctx, `
		WITH anyq AS (SELECT to_tsquery($2::regconfig, $4) AS q),
		cand AS (
			SELECT c.id, ts_rank_cd(c.tsv, anyq.q, 32) AS rank
			FROM knowledge_chunks c, anyq
			WHERE c.organization_id = $1
			  AND ($5::uuid IS NULL OR c.assistant_id IS NULL OR c.assistant_id = $5)
			  AND CASE WHEN $7::uuid[] IS NULL THEN c.tsv @@ anyq.q
			      ELSE (c.id = ANY($7) AND c.tsv @@ anyq.q) OR c.tsv @@ to_tsquery($2::regconfig, $8) END
			ORDER BY rank DESC
			LIMIT greatest($6 * 4, 200)
		), terms AS (
			SELECT q FROM (SELECT to_tsquery($2::regconfig, w) AS q FROM unnest($3::text[]) AS w) t
			WHERE numnode(q) > 0
		), n AS (SELECT greatest(count(*), 1)::float8 AS n FROM terms),
		best AS (
			SELECT c.knowledge_id, c.id, c.title, c.heading, c.body, cand.rank,
				(SELECT count(*) FROM terms WHERE c.tsv @@ terms.q)::float8 / n.n AS coverage,
				(SELECT count(*) FROM terms WHERE c.tsv @@ terms.q)::int AS matched
			FROM cand JOIN knowledge_chunks c ON c.id = cand.id, n
			ORDER BY coverage DESC, cand.rank DESC, c.id
			LIMIT $6
		)
		SELECT best.knowledge_id, best.id, best.title, best.heading, best.body,
			ts_headline($2::regconfig, best.body, anyq.q, 'MaxFragments=2, MaxWords=30, MinWords=10, StartSel="", StopSel="", FragmentDelimiter=" … "'),
			best.coverage, best.matched, best.rank
		FROM best, anyq
		ORDER BY best.coverage DESC, best.rank DESC, best.id`, org, SearchConfig(lang), ws, strings.Join(ws, " | "), assistant, limit,
		within, strings.Join(ws, " & "))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hits := []Hit{}
	for rows.Next() {
		var h Hit
		var rank float64
		if err := rows.Scan(&h.KnowledgeID, &h.ChunkID, &h.Title, &h.Heading, &h.Body, &h.Snippet, &h.Coverage, &h.Matched, &rank); err != nil {
			return nil, err
		}
		h.Score = h.Coverage + rank/10
		hits = append(hits, h)
	}
	return hits, rows.Err()
}
