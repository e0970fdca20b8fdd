// Package catalog lists every event the system stores, in one place: the
// codec built here is the only way stored names map to payload types.
package catalog

import (
	"github.com/companin/companin/domain/assistant"
	"github.com/companin/companin/domain/conversation"
	"github.com/companin/companin/domain/event"
	"github.com/companin/companin/domain/knowledge"
	"github.com/companin/companin/domain/organization"
	"github.com/companin/companin/domain/usercontext"
	"github.com/companin/companin/domain/widgetconfig"
)

// Codec returns a codec for every domain event.
func Codec() *event.Codec {
	return event.NewCodec(organization.Kinds(), assistant.Kinds(), conversation.Kinds(),
		usercontext.Kinds(), knowledge.Kinds(), widgetconfig.Kinds())
}
