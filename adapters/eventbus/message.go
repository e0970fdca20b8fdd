package eventbus

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/companin/companin/domain/event"
)

// Metadata keys of the envelope the Subscriber adds to every message. They
// describe where the event is stored, so the Publisher never stores them as
// plain metadata: it reads event_type and the ids into the event and drops
// the rest.
const (
	KeyEventID        = "event_id"
	KeyEventType      = "event_type"
	KeyStream         = "stream"
	KeyVersion        = "version"
	KeyPosition       = "position" // event.Position.String()
	KeyOrganizationID = "organization_id"
	KeyCorrelationID  = "correlation_id" // the key Watermill's CorrelationID middleware uses too
	KeyCausationID    = "causation_id"
	KeySchemaVersion  = "schema_version"
	KeyRecordedAt     = "recorded_at" // RFC 3339 with nanoseconds, UTC

	// KeyPayloadEncoding is stored as "base64" when the payload was not JSON
	// and events.data holds it as a base64 JSON string.
	KeyPayloadEncoding = "payload_encoding"
	// KeyMessageUUID keeps the UUID of a message the Publisher stored, which
	// is not its event id (see Publisher).
	KeyMessageUUID = "message_uuid"
)

// DefaultEventType is the type of events published without event_type.
const DefaultEventType = "watermill.message"

const base64Encoding = "base64"

// messageFromEvent turns a stored event into the message consumers get.
func messageFromEvent(e event.Event) *message.Message {
	md := make(message.Metadata, len(e.Metadata)+10)
	maps.Copy(md, e.Metadata)

	payload := []byte(e.Data)
	if md[KeyPayloadEncoding] == base64Encoding {
		if raw, err := decodeBase64(e.Data); err == nil {
			payload = raw
		}
		// Undecodable: hand over the stored JSON with the marker still set
		// rather than stall the consumer on an event it cannot skip.
	}

	md[KeyEventID] = e.ID.String()
	md[KeyEventType] = e.Type
	md[KeyStream] = e.Stream
	md[KeyVersion] = strconv.FormatInt(e.Version, 10)
	md[KeyPosition] = e.Position.String()
	md[KeySchemaVersion] = strconv.Itoa(e.SchemaVersion)
	md[KeyRecordedAt] = e.Time.UTC().Format(time.RFC3339Nano)
	setUUID(md, KeyOrganizationID, e.OrganizationID)
	setUUID(md, KeyCorrelationID, e.CorrelationID)
	setUUID(md, KeyCausationID, e.CausationID)

	id := md[KeyMessageUUID]
	if id == "" {
		id = e.ID.String()
	}
	msg := message.NewMessage(id, payload)
	msg.Metadata = md
	return msg
}

// EventFromMessage rebuilds the stored event from a message the Subscriber
// delivered, so a consumer can use its Position, for example to write its own
// checkpoint in the transaction that applies the event.
func EventFromMessage(msg *message.Message) (event.Event, error) {
	md := maps.Clone(msg.Metadata)
	var e event.Event
	var errs []error
	need := func(key string) string {
		v, ok := md[key]
		if !ok {
			errs = append(errs, fmt.Errorf("no %s metadata", key))
		}
		delete(md, key)
		return v
	}

	id, err := uuid.Parse(need(KeyEventID))
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", KeyEventID, err))
	}
	e.ID = id
	e.Type = need(KeyEventType)
	e.Stream = need(KeyStream)
	if v, err := strconv.ParseInt(need(KeyVersion), 10, 64); err == nil {
		e.Version = v
	} else {
		errs = append(errs, fmt.Errorf("%s: %w", KeyVersion, err))
	}
	if p, err := event.ParsePosition(need(KeyPosition)); err == nil {
		e.Position = p
	} else {
		errs = append(errs, err)
	}
	if v, err := strconv.Atoi(need(KeySchemaVersion)); err == nil {
		e.SchemaVersion = v
	} else {
		errs = append(errs, fmt.Errorf("%s: %w", KeySchemaVersion, err))
	}
	if t, err := time.Parse(time.RFC3339Nano, need(KeyRecordedAt)); err == nil {
		e.Time = t.UTC()
	} else {
		errs = append(errs, fmt.Errorf("%s: %w", KeyRecordedAt, err))
	}
	if err := errors.Join(errs...); err != nil {
		return event.Event{}, fmt.Errorf("message %s is not an event: %w", msg.UUID, err)
	}
	e.OrganizationID = takeUUID(md, KeyOrganizationID)
	e.CorrelationID = takeUUID(md, KeyCorrelationID)
	e.CausationID = takeUUID(md, KeyCausationID)

	if md[KeyPayloadEncoding] == base64Encoding {
		e.Data = encodeBase64(msg.Payload)
	} else {
		e.Data = json.RawMessage(msg.Payload)
	}
	if len(md) > 0 {
		e.Metadata = md
	}
	return e, nil
}

// eventFromMessage is what the Publisher stores for msg in stream topic.
func eventFromMessage(topic string, msg *message.Message) event.Event {
	md := maps.Clone(msg.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	e := event.Event{
		ID:   eventID(topic, msg.UUID),
		Type: md[KeyEventType],
	}
	if e.Type == "" {
		e.Type = DefaultEventType
	}
	if v, err := strconv.Atoi(md[KeySchemaVersion]); err == nil && v > 0 {
		e.SchemaVersion = v
	}
	e.OrganizationID = takeUUID(md, KeyOrganizationID)
	e.CorrelationID = takeUUID(md, KeyCorrelationID)
	e.CausationID = takeUUID(md, KeyCausationID)
	// Where an earlier copy was stored says nothing about this one.
	for _, k := range []string{KeyEventID, KeyEventType, KeyStream, KeyVersion, KeyPosition,
		KeySchemaVersion, KeyRecordedAt, KeyPayloadEncoding} {
		delete(md, k)
	}
	md[KeyMessageUUID] = msg.UUID

	if storableJSON(msg.Payload) {
		e.Data = json.RawMessage(msg.Payload)
	} else {
		e.Data = encodeBase64(msg.Payload)
		md[KeyPayloadEncoding] = base64Encoding
	}
	e.Metadata = md
	return e
}

// messageNamespace derives event ids from message UUIDs (UUID version 5).
var messageNamespace = uuid.MustParse("5bc82bd9-a405-44e3-91e8-5a7c5ade1530")

// eventID is the id of the event storing message id in stream topic. It is
// derived from both because Watermill allows the same message (same UUID) on
// several topics, while an event id names exactly one event; and it is
// deterministic so that publishing a message again finds the stored event.
func eventID(topic, messageUUID string) uuid.UUID {
	return uuid.NewSHA1(messageNamespace, []byte(topic+"\x00"+messageUUID))
}

// storableJSON reports whether payload can go into a jsonb column as is.
// jsonb rejects the NUL character even when escaped.
func storableJSON(payload []byte) bool {
	return json.Valid(payload) && !containsNULEscape(payload)
}

func containsNULEscape(b []byte) bool {
	const esc = `\u0000`
	for i := 0; i+len(esc) <= len(b); i++ {
		if b[i] == '\\' {
			if string(b[i:i+len(esc)]) == esc {
				return true
			}
			i++ // skip the escaped character, so `\\u0000` is not a match
		}
	}
	return false
}

func encodeBase64(b []byte) json.RawMessage {
	s, _ := json.Marshal(base64.StdEncoding.EncodeToString(b)) // a string always marshals
	return s
}

func decodeBase64(data json.RawMessage) ([]byte, error) {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(s)
}

func setUUID(md message.Metadata, key string, id uuid.UUID) {
	if id != uuid.Nil {
		md[key] = id.String()
	}
}

// takeUUID moves md[key] into the envelope if it is a UUID. Anything else
// (say a short correlation id from another system) stays plain metadata, so
// it survives the round trip unchanged.
func takeUUID(md map[string]string, key string) uuid.UUID {
	id, err := uuid.Parse(md[key])
	if err != nil {
		return uuid.Nil
	}
	delete(md, key)
	return id
}
