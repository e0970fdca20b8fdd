package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/companin/companin/commands"
	"github.com/companin/companin/domain/knowledge"
)

// TestReplyWaitsForKnowledgeAddedBefore adds Q&A through the command side
// (no waiting for read models) and asks about it at once: the reply worker
// must not answer before the knowledge projection has caught up.
func TestReplyWaitsForKnowledgeAddedBefore(t *testing.T) {
	s := startServer(t, testConfig(), nil)
	c := s.newOrg(t, "A")
	r := s.do(t, request{method: "POST", path: "/api/v1/assistants", header: c.headers(), body: `{"name":"A"}`})
	asst := r.data(t)["id"].(string)
	r = s.do(t, request{method: "POST", path: "/api/v1/sessions", header: c.headers(), body: fmt.Sprintf(`{"assistant_id":%q}`, asst)})
	session := r.data(t)["id"].(string)
	kc := commands.NewKnowledge(s.app.store, s.app.codec, nil)
	for i := range 5 {
		topic := fmt.Sprintf("zeppelin%d", i)
		m := commands.Meta{OrganizationID: c.OrgID}
		res, err := kc.AddQA(context.Background(), m, commands.NewID(m, "knowledge"), knowledge.QA{
			Question: "How do I book a " + topic + " ride?", Answer: "Book your " + topic + " ride at the front desk.",
		})
		if err != nil {
			t.Fatal(err)
		}
		r = s.do(t, request{method: "POST", path: "/api/v1/sessions/" + session + "/messages", header: c.headers(),
			body: fmt.Sprintf(`{"content":"how can I book a %s ride"}`, topic)})
		wantStatus(t, r, 201)
		reply := r.data(t)["reply"].(map[string]any)
		src, _ := reply["sources"].([]any)
		if reply["answerable"] != true || len(src) == 0 || src[0].(map[string]any)["knowledge_id"] != res.ID.String() {
			t.Errorf("round %d: reply %v does not use the knowledge added just before", i, reply)
		}
	}
}
