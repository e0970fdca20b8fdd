package assistant

import (
	"errors"
	"strings"
	"testing"

	"github.com/companin/companin/domain/validation"
)

func TestCreateValidates(t *testing.T) {
	tests := []struct {
		name   string
		spec   Spec
		fields []string
	}{
		{"ok", Spec{Name: "Bot", Language: "en", IsActive: true}, nil},
		{"blank name", Spec{Name: "  "}, []string{"name"}},
		{"long name", Spec{Name: strings.Repeat("x", 201)}, []string{"name"}},
		{"bad language", Spec{Name: "Bot", Language: "en us!"}, []string{"language"}},
		{"too many tasks", Spec{Name: "Bot", DefaultTasks: make([]string, 21)}, []string{"default_tasks"}},
		{"blank task", Spec{Name: "Bot", DefaultTasks: []string{""}}, []string{"default_tasks[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Assistant
			err := a.Create(tt.spec)
			var ve *validation.Error
			if len(tt.fields) == 0 {
				if err != nil || len(a.Changes()) != 1 {
					t.Fatalf("Create = %v, changes %d", err, len(a.Changes()))
				}
				return
			}
			if !errors.As(err, &ve) {
				t.Fatalf("Create = %v, want validation error", err)
			}
			for _, f := range tt.fields {
				if _, ok := ve.Fields[f]; !ok {
					t.Errorf("fields = %v, want %s", ve.Fields, f)
				}
			}
			if len(a.Changes()) != 0 {
				t.Errorf("invalid create recorded %d events", len(a.Changes()))
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	var a Assistant
	if err := a.Create(Spec{Name: "Bot", IsActive: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.AcceptsConversations(); err != nil {
		t.Errorf("active assistant refuses: %v", err)
	}
	same := "Bot"
	if err := a.Update(Patch{Name: &same}); err != nil || len(a.Changes()) != 1 {
		t.Errorf("no-op update recorded an event: %v, %d", err, len(a.Changes()))
	}
	off := false
	if err := a.Update(Patch{IsActive: &off}); err != nil {
		t.Fatal(err)
	}
	if err := a.AcceptsConversations(); !errors.Is(err, ErrInactive) {
		t.Errorf("inactive assistant: %v, want ErrInactive", err)
	}
	a.Delete()
	a.Delete()
	if got := len(a.Changes()); got != 3 {
		t.Errorf("changes = %d, want 3 (create, update, one delete)", got)
	}
	if err := a.AcceptsConversations(); !errors.Is(err, ErrDeleted) {
		t.Errorf("deleted assistant: %v, want ErrDeleted", err)
	}
	if err := a.Update(Patch{Name: &same}); !errors.Is(err, ErrDeleted) {
		t.Errorf("update after delete: %v", err)
	}
	if err := a.Create(Spec{Name: "again"}); !errors.Is(err, ErrExists) {
		t.Errorf("create twice: %v", err)
	}
}
