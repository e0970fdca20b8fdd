// Package extractive is the built-in responder: it answers with the best
// matching passage of the organization's knowledge, cites it, and says it
// does not know (offering a human) when nothing matches well. It needs no
// model, so the platform answers correctly out of the box.
package extractive

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/projections"
	"github.com/companin/companin/worker/reply"
)

// Name is recorded as the reply's responder.
const Name = "extractive"

// A passage answers a question when it contains at least MinCoverage of
// the question's content words, or its vector is at least MinSimilarity
// close to the question's (paraphrases share few words). On the eval sets
// (companin eval) unrelated questions' best hits stay below 0.20 with the
// hashing embedder; 0.3 keeps a margin while counting most correct hits.
const (
	MinCoverage   = 0.5
	MinSimilarity = 0.3
)

// Relevant reports whether h is good enough to answer from.
func Relevant(h projections.Hit) bool {
	// One shared word out of two says little: "order" alone matches
	// every order question. Lexical evidence needs two words, or all of a
	// one-word question.
	lexical := h.Coverage >= MinCoverage && (h.Matched >= 2 || h.Coverage >= 1)
	return lexical || h.Similarity >= MinSimilarity
}

// Responder answers from retrieved passages.
type Responder struct{}

// Respond implements reply.Responder.
func (Responder) Respond(_ context.Context, r reply.Request, onDelta func(string) error) (conversation.Reply, error) {
	out := Answer(r)
	if err := onDelta(out.Content); err != nil {
		return conversation.Reply{}, err
	}
	return out, nil
}

// Answer is the extractive reply to r.
func Answer(r reply.Request) conversation.Reply {
	used := reply.Sources(r, Relevant)
	var answer string
	for _, h := range r.Hits {
		if Relevant(h) {
			answer = extract(h.Body)
			break
		}
	}
	if answer == "" {
		return conversation.Reply{Content: DontKnow(r.Locale), Sources: []conversation.Source{}, Answerable: false, Responder: Name}
	}
	return conversation.Reply{Content: answer, Sources: used, Answerable: true, Responder: Name}
}

// extract returns the answer part of a Q&A passage, or the passage itself
// cut at a sentence boundary.
func extract(body string) string {
	if _, a, ok := strings.Cut(body, "\nA: "); ok && strings.HasPrefix(body, "Q: ") {
		return strings.TrimSpace(a)
	}
	return cut(strings.TrimSpace(body), 700)
}

func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	s = string([]rune(s)[:max])
	if i := strings.LastIndexAny(s, ".!?"); i > max/2 {
		return s[:i+1]
	}
	return s + "…"
}

var dontKnowTexts = map[string]string{
	"en": "I'm sorry, I don't know the answer to that. Would you like me to connect you with a member of our team?",
	"nl": "Het spijt me, daar weet ik het antwoord niet op. Wilt u dat ik u in contact breng met een medewerker van ons team?",
	"de": "Das weiß ich leider nicht. Möchten Sie, dass ich Sie mit einem Mitarbeiter unseres Teams verbinde?",
	"fr": "Je suis désolé, je ne connais pas la réponse. Voulez-vous que je vous mette en relation avec un membre de notre équipe ?",
	"es": "Lo siento, no sé la respuesta. ¿Quiere que le ponga en contacto con un miembro de nuestro equipo?",
}

// DontKnow is the honest answer when the knowledge has none, in the
// conversation's language, offering a human.
func DontKnow(locale string) string {
	primary, _, _ := strings.Cut(strings.ToLower(locale), "-")
	if t, ok := dontKnowTexts[primary]; ok {
		return t
	}
	return dontKnowTexts["en"]
}
