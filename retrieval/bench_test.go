package retrieval_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/adapters/embedding"
	"github.com/companin/companin/adapters/pgtest"
	"github.com/companin/companin/domain/knowledge"
	"github.com/companin/companin/projections"
	"github.com/companin/companin/retrieval"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// BenchmarkSearch measures retrieval latency, as p50 and p99 of single
// searches, for one organization holding 1k, 10k and 100k passages, in
// hybrid mode (what replies use) and, for comparison, each method alone.
// Setting up 100k passages takes about a minute; -short skips it:
//
//	go test -run '^$' -bench Search ./retrieval/
func BenchmarkSearch(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("chunks=%d", n), func(b *testing.B) {
			if n >= 100_000 && testing.Short() {
				b.Skip("SKIPPED with -short: 100k passages take a minute to set up; it runs with make bench or go test -bench Search ./retrieval")
			}
			ctx := context.Background()
			pool := pgtest.Pool(b)
			org := uuid.New()
			gen := newTextGen(uint64(n), n/20)
			start := time.Now()
			seedChunks(ctx, b, pool, org, n, gen)
			engine := retrieval.New(pool, projections.NewQueries(pool), embedding.Hashing{})
			questions := make([]string, 512)
			for i := range questions {
				questions[i] = gen.question()
			}
			// The first search loads the organization's vector index.
			if _, err := engine.Search(ctx, retrieval.Query{Org: org, Text: questions[0]}); err != nil {
				b.Fatal(err)
			}
			b.Logf("%d passages set up in %s", n, time.Since(start).Round(time.Millisecond))
			for _, m := range []struct {
				name string
				mode retrieval.Mode
			}{{"hybrid", retrieval.Hybrid}, {"fulltext", retrieval.FullText}, {"vector", retrieval.Vector}} {
				b.Run("mode="+m.name, func(b *testing.B) {
					var took []time.Duration
					i := 0
					for b.Loop() {
						q := retrieval.Query{Org: org, Lang: "en", Text: questions[i%len(questions)], Limit: 5, Mode: m.mode}
						t := time.Now()
						if _, err := engine.Search(ctx, q); err != nil {
							b.Fatal(err)
						}
						took = append(took, time.Since(t))
						i++
					}
					slices.Sort(took)
					b.ReportMetric(ms(percentile(took, 0.50)), "p50-ms")
					b.ReportMetric(ms(percentile(took, 0.99)), "p99-ms")
				})
			}
		})
	}
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// seedChunks stores n passages of org, four per knowledge item, with their
// vectors, as the knowledge projection and the engine would have: rows go
// in with COPY, the text search vectors are computed by the same
// expression the projection uses.
func seedChunks(ctx context.Context, b testing.TB, pool *pgxpool.Pool, org uuid.UUID, n int, gen *textGen) {
	b.Helper()
	type chunk struct {
		id, item             uuid.UUID
		ordinal              int
		title, heading, body string
		sum                  [32]byte
		vector               []byte
	}
	chunks := make([]chunk, n)
	var item uuid.UUID
	var title string
	for i := range chunks {
		if i%4 == 0 {
			item, title = uuid.New(), gen.item()
		}
		c := chunk{id: uuid.New(), item: item, ordinal: i % 4, title: title, heading: gen.heading(), body: gen.body()}
		c.sum = sha256.Sum256([]byte(knowledge.EmbeddingText(c.title, c.heading, c.body)))
		chunks[i] = c
	}
	// Embedding is the slow part of the setup: spread it over processors.
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				c := &chunks[i]
				v := embedding.Vector(knowledge.EmbeddingText(c.title, c.heading, c.body))
				c.vector = make([]byte, 4*len(v))
				for j, x := range v {
					binary.LittleEndian.PutUint32(c.vector[4*j:], math.Float32bits(x))
				}
			}
		})
	}
	wg.Wait()

	conn, err := pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE staged_chunks (id uuid, knowledge_id uuid, ordinal int,
		title text, heading text, body text, embed_sha256 bytea)`); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"staged_chunks"},
		[]string{"id", "knowledge_id", "ordinal", "title", "heading", "body", "embed_sha256"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			c := chunks[i]
			return []any{c.id, c.item, c.ordinal, c.title, c.heading, c.body, c.sum[:]}, nil
		})); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO knowledge_chunks (id, knowledge_id, organization_id, ordinal,
		title, heading, body, embed_sha256, tsv)
		SELECT id, knowledge_id, $1, ordinal, title, heading, body, embed_sha256,
			setweight(to_tsvector('english', title || ' ' || heading), 'A') ||
			setweight(to_tsvector('dutch', title || ' ' || heading), 'A') ||
			to_tsvector('english', body) || to_tsvector('dutch', body) || to_tsvector('simple', body)
		FROM staged_chunks`, org); err != nil {
		b.Fatal(err)
	}
	model := embedding.Hashing{}.Model()
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"embeddings"}, []string{"model", "text_sha256", "dims", "vector"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return []any{model, chunks[i].sum[:], embedding.Dims, chunks[i].vector}, nil
		})); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO knowledge_versions (organization_id, version) VALUES ($1, 1)`, org); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE knowledge_chunks, embeddings`); err != nil {
		b.Fatal(err)
	}
}

// textGen writes varied support-style text. Like a real knowledge base it
// is about many topics: each passage mixes common words of the domain
// (drawn with a Zipf distribution, as words in real text are) with the
// words of its topic (made-up product and feature names), and a question
// asks about one topic in a few words of both kinds.
type textGen struct {
	r      *rand.Rand
	common *rand.Zipf
	vocab  []string   // common words
	topics [][]string // words of each topic
	topic  int        // of the passage being written
}

func newTextGen(seed uint64, topics int) *textGen {
	r := rand.New(rand.NewPCG(seed, 42))
	g := &textGen{r: r, vocab: strings.Fields(domainWords)}
	g.common = rand.NewZipf(r, 1.05, 8, uint64(len(g.vocab)-1))
	syllables := strings.Fields("ka lo mi ne ra to vi su pe da ko li ma no re ti va sa po de ba fu gi hu je")
	names := make([]string, 0, 20000)
	seen := map[string]bool{}
	for len(names) < cap(names) {
		var w strings.Builder
		for range 2 + r.IntN(3) {
			w.WriteString(syllables[r.IntN(len(syllables))])
		}
		if !seen[w.String()] {
			seen[w.String()] = true
			names = append(names, w.String())
		}
	}
	g.topics = make([][]string, topics)
	for t := range g.topics {
		g.topics[t] = make([]string, 12)
		for i := range g.topics[t] {
			g.topics[t][i] = names[r.IntN(len(names))]
		}
	}
	return g
}

// words returns n words of the current topic, a share topical of them
// from the topic's own words.
func (g *textGen) words(n int, topical float64) []string {
	out := make([]string, n)
	for i := range out {
		if g.r.Float64() < topical {
			t := g.topics[g.topic]
			out[i] = t[g.r.IntN(len(t))]
		} else {
			out[i] = g.vocab[g.common.Uint64()]
		}
	}
	return out
}

// item starts a new knowledge item on a random topic and returns its title.
func (g *textGen) item() string {
	g.topic = g.r.IntN(len(g.topics))
	return "How do I " + strings.Join(g.words(3+g.r.IntN(3), 0.6), " ") + "?"
}

func (g *textGen) heading() string {
	if g.r.IntN(2) == 0 {
		return ""
	}
	return strings.Join(g.words(2+g.r.IntN(3), 0.5), " ")
}

func (g *textGen) body() string {
	s := make([]string, 3+g.r.IntN(5))
	for i := range s {
		w := strings.Join(g.words(6+g.r.IntN(12), 0.35), " ")
		s[i] = strings.ToUpper(w[:1]) + w[1:] + "."
	}
	return strings.Join(s, " ")
}

func (g *textGen) question() string {
	g.topic = g.r.IntN(len(g.topics))
	return "how can I " + strings.Join(g.words(3+g.r.IntN(4), 0.5), " ") + "?"
}

const domainWords = `order orders delivery shipping parcel package return refund payment invoice account password
login email address phone store shop opening hours warranty repair subscription plan gift card discount code
coupon voucher student loyalty points newsletter privacy data product stock price customer service chat
cancel change update delete reset verify confirm track send receive pay charge bill bank transfer card
credit debit paypal klarna ideal express standard free cost costs days weeks months week working business
company vat number receipt label box damaged broken missing wrong size colour model machine grinder coffee
beans espresso filter milk cup mug kettle descale clean water tank filter settings profile security app
mobile website checkout basket cart item items quantity sale offer promotion member premium monthly yearly
renew pause resume switch upgrade downgrade limit minimum maximum europe netherlands belgium germany france
international customs duties tax fee fees carrier courier pickup point locker neighbour signature time
morning afternoon evening weekend holiday christmas easter closed open today tomorrow contact form message
reply answer question problem issue error fails failed works working login two factor code backup secure
notification alert email sms language english dutch bestelling bezorging pakket retour terugbetaling
betaling factuur wachtwoord account winkel openingstijden garantie abonnement korting cadeaubon klantenservice`
