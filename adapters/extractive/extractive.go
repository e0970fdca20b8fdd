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
// close to the question's (paraphrases share few words).
const (
	MinCoverage   = 0.5
	MinSimilarity = 0.5
)

// Relevant reports whether h is good enough to answer from.
func Relevant(h projections.Hit) bool {
	return h.Coverage >= MinCoverage || h.Similarity >= MinSimilarity
}

// Responder answers from retrieved passages.
type Responder struct{}

// Respond implements reply.Responder.
func (Responder) Respond(_ context.Context, r reply.Request) (conversation.Reply, error) {
	var used []conversation.Source
	var answer string
	for _, h := range r.Hits {
		if len(used) == 3 {
			break
		}
		if !Relevant(h) {
			continue
		}
		if answer == "" {
			answer = extract(h.Body)
		}
		used = append(used, conversation.Source{KnowledgeID: h.KnowledgeID, Title: h.Title, Snippet: snippet(h)})
	}
	if answer == "" {
		return conversation.Reply{
			Content: dontKnow(r.Locale), Sources: []conversation.Source{}, Answerable: false, Responder: Name,
		}, nil
	}
	return conversation.Reply{Content: answer, Sources: used, Answerable: true, Responder: Name}, nil
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
	r := []rune(s)[:max]
	s = string(r)
	if i := strings.LastIndexAny(s, ".!?"); i > max/2 {
		return s[:i+1]
	}
	return s + "…"
}

func snippet(h projections.Hit) string {
	if strings.TrimSpace(h.Snippet) != "" {
		return h.Snippet
	}
	return cut(h.Body, 200)
}

var dontKnowTexts = map[string]string{
	"en": "I'm sorry, I don't know the answer to that. Would you like me to connect you with a member of our team?",
	"nl": "Het spijt me, daar weet ik het antwoord niet op. Wilt u dat ik u in contact breng met een medewerker van ons team?",
	"de": "Das weiß ich leider nicht. Möchten Sie, dass ich Sie mit einem Mitarbeiter unseres Teams verbinde?",
	"fr": "Je suis désolé, je ne connais pas la réponse. Voulez-vous que je vous mette en relation avec un membre de notre équipe ?",
	"es": "Lo siento, no sé la respuesta. ¿Quiere que le ponga en contacto con un miembro de nuestro equipo?",
}

func dontKnow(locale string) string {
	primary, _, _ := strings.Cut(strings.ToLower(locale), "-")
	if t, ok := dontKnowTexts[primary]; ok {
		return t
	}
	return dontKnowTexts["en"]
}
