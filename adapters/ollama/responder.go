package ollama

import (
	"context"

	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/worker/reply"
)

// Responder answers with an Ollama chat model, grounded in the retrieved
// passages (reply.Prompt marks them as quoted data).
type Responder struct {
	Client   *Client
	Relevant reply.Relevance
	// Budget is the prompt size in characters; about four per token.
	Budget int
}

// ResponderName is recorded on replies this responder makes.
const ResponderName = "ollama"

// Respond implements reply.Responder.
func (o Responder) Respond(ctx context.Context, r reply.Request, onDelta func(string) error) (conversation.Reply, error) {
	budget := o.Budget
	if budget <= 0 {
		budget = 4 * max(o.Client.cfg.NumCtx-o.Client.cfg.NumPredict, 512)
	}
	prompt := reply.Prompt(r, o.Relevant, budget)
	msgs := make([]Message, len(prompt))
	for i, m := range prompt {
		msgs[i] = Message{Role: m.Role, Content: m.Content}
	}
	text, err := o.Client.Chat(ctx, msgs, onDelta)
	if err != nil {
		return conversation.Reply{}, err
	}
	return conversation.Reply{
		Content: text, Sources: reply.Sources(r, o.Relevant), Answerable: true,
		Responder: ResponderName, Model: o.Client.ChatModel(),
	}, nil
}

// Embedder adapts the client to retrieval's embedder port.
type Embedder struct{ Client *Client }

// Model names the embedding space.
func (e Embedder) Model() string { return "ollama:" + e.Client.EmbedModel() }

// Embed returns one vector per text.
func (e Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return e.Client.Embed(ctx, texts)
}
