package eventbus_test

import (
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"

	"github.com/companin/companin/adapters/eventbus"
)

// features are what the Publisher and Subscriber guarantee, as the suite
// defines them:
//   - GuaranteedOrder: one message at a time in log order; the next is not
//     delivered before the Ack (TestNoAck) and a Nack redelivers the same one.
//   - Persistent, NewSubscriberReceivesOldMessages: the log is the store;
//     a subscriber without a group always starts from the beginning.
//   - ConsumerGroups: groups resume from their own checkpoint.
//   - not ExactlyOnceDelivery: delivery is at least once (Ack, then a crash
//     before the checkpoint is written, delivers again), and subscribers
//     without a group each get every message.
//   - not RequireSingleInstance: any number of processes share the database.
var features = tests.Features{
	ConsumerGroups:                   true,
	ExactlyOnceDelivery:              false,
	GuaranteedOrder:                  true,
	Persistent:                       true,
	RequireSingleInstance:            false,
	NewSubscriberReceivesOldMessages: true,
}

func TestPubSub(t *testing.T) {
	t.Parallel()
	dbs := &suiteDBs{m: map[*testing.T]*testDB{}}
	tests.TestPubSub(t, features,
		func(t *testing.T) (message.Publisher, message.Subscriber) { return dbs.pubSub(t, "") },
		dbs.pubSub)
}

// suiteDBs gives every test of the suite one database shared by all the
// publishers and subscribers it makes: they must see each other's messages.
type suiteDBs struct {
	mu sync.Mutex
	m  map[*testing.T]*testDB
}

func (s *suiteDBs) pubSub(t *testing.T, group string) (message.Publisher, message.Subscriber) {
	s.mu.Lock()
	db, ok := s.m[t]
	if !ok {
		db = newTestDB(t)
		s.m[t] = db
		t.Cleanup(func() {
			s.mu.Lock()
			delete(s.m, t)
			s.mu.Unlock()
		})
	}
	s.mu.Unlock()

	sub, err := eventbus.NewSubscriber(db.store, db.pool, eventbus.SubscriberConfig{
		ConsumerGroup: group,
		NackDelay:     10 * time.Millisecond,
		Logger:        testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Some tests of the suite leave subscribers open.
	t.Cleanup(func() { sub.Close() })
	return eventbus.NewPublisher(db.store), sub
}
