package eventbus

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/companin/companin/domain/event"
)

// AllTopic subscribes to every event of the global log, whatever its stream.
const AllTopic = "$all"

// Log is what the Subscriber needs of the event store: the global log, from
// a position, first what is stored and then what is appended.
type Log interface {
	Tail(ctx context.Context, from event.Position, batch int, fn func(context.Context, []event.Event) error) error
}

// SubscriberConfig configures a Subscriber.
type SubscriberConfig struct {
	// ConsumerGroup names the consumer. With a group, delivery resumes after
	// the last acknowledged event (the checkpoints table) and only one
	// subscription of the group runs at a time across all processes; the
	// others wait and take over when it ends. The checkpoint row and the
	// lock are named by the group for AllTopic and by group+"/"+topic for a
	// single topic, because an acknowledgement on one topic says nothing
	// about the events of another.
	//
	// Without a group every subscription reads the log from the beginning.
	ConsumerGroup string
	// Batch is how many events are read per query. Default 256.
	Batch int
	// NackDelay is how long a nacked message waits before it is delivered
	// again. Default 1s.
	NackDelay time.Duration
	// Logger defaults to slog.Default through watermill.NewSlogLogger.
	Logger watermill.LoggerAdapter
}

func (c *SubscriberConfig) setDefaults() {
	if c.Batch == 0 {
		c.Batch = 256
	}
	if c.NackDelay == 0 {
		c.NackDelay = time.Second
	}
	if c.Logger == nil {
		c.Logger = watermill.NewSlogLogger(nil)
	}
}

// Validate reports every problem of the configuration.
func (c SubscriberConfig) Validate() error {
	var errs []error
	if c.Batch < 0 {
		errs = append(errs, fmt.Errorf("batch %d: must not be negative", c.Batch))
	}
	if c.NackDelay < 0 {
		errs = append(errs, fmt.Errorf("nack delay %s: must not be negative", c.NackDelay))
	}
	return errors.Join(errs...)
}

const (
	// lockPoll is how often a waiting subscription tries the group's lock.
	lockPoll = time.Second
	// lockCheck is how often the holder checks its lock connection is alive:
	// if it died, the lock is gone and another process may be delivering.
	lockCheck = 5 * time.Second
	// skipSaveEvery limits checkpoint writes for events of other topics.
	skipSaveEvery = time.Second
	// settleTimeout bounds how long an ending subscription waits for the
	// Ack or Nack of the message it delivered last.
	settleTimeout = 5 * time.Second
	// restartDelay separates attempts after a subscription failed.
	restartDelay = time.Second
)

// Subscriber is a message.Subscriber over the global log of the event store.
// It delivers one message at a time and waits for its Ack or Nack: a nacked
// message is delivered again after NackDelay, so the order is the log's.
// Delivery is at least once: an event can be delivered again after a crash
// or a lost lock, so consumers must be idempotent.
type Subscriber struct {
	log       Log
	pool      *pgxpool.Pool
	cfg       SubscriberConfig
	lockCheck time.Duration

	mu     sync.Mutex
	closed bool
	stop   context.CancelFunc
	ctx    context.Context // done on Close
	wg     sync.WaitGroup
}

// NewSubscriber returns a Subscriber reading log and keeping checkpoints and
// locks in the database of pool.
func NewSubscriber(log Log, pool *pgxpool.Pool, cfg SubscriberConfig) (*Subscriber, error) {
	if log == nil || pool == nil {
		return nil, errors.New("eventbus: nil log or pool")
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("subscriber config: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Subscriber{log: log, pool: pool, cfg: cfg, lockCheck: lockCheck, ctx: ctx, stop: cancel}, nil
}

// SubscriberFactory makes the Subscriber of a consumer group.
type SubscriberFactory func(consumerGroup string) (*Subscriber, error)

// Subscribers returns a factory of Subscribers sharing log, pool and cfg but
// each with its own ConsumerGroup.
func Subscribers(log Log, pool *pgxpool.Pool, cfg SubscriberConfig) SubscriberFactory {
	return func(group string) (*Subscriber, error) {
		c := cfg
		c.ConsumerGroup = group
		return NewSubscriber(log, pool, c)
	}
}

// Subscribe delivers the events of stream topic, or of every stream for
// AllTopic, until ctx ends or the Subscriber is closed; then the channel is
// closed.
func (s *Subscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if topic == "" {
		return nil, errors.New("subscribe: empty topic")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(s.ctx, cancel)
	out := make(chan *message.Message)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer unhook()
		defer cancel()
		s.consume(ctx, topic, out)
	}()
	return out, nil
}

// Close ends every subscription and returns once they have stopped and
// released their locks. The context of a message in flight is cancelled; a
// consumer group waits up to 5s for its Ack or Nack before releasing the
// lock. A message not acknowledged is delivered again to the group's next
// subscriber.
func (s *Subscriber) Close() error {
	s.mu.Lock()
	s.closed = true
	s.stop()
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// consumer is the name of the checkpoint row and lock of a subscription to
// topic, "" without a consumer group.
func (s *Subscriber) consumer(topic string) string {
	switch {
	case s.cfg.ConsumerGroup == "":
		return ""
	case topic == AllTopic:
		return s.cfg.ConsumerGroup
	default:
		return s.cfg.ConsumerGroup + "/" + topic
	}
}

// consume runs sessions until ctx ends, starting over after failures.
func (s *Subscriber) consume(ctx context.Context, topic string, out chan<- *message.Message) {
	name := s.consumer(topic)
	logger := s.cfg.Logger.With(watermill.LogFields{"topic": topic, "consumer": name})
	for {
		err := s.session(ctx, logger, name, topic, out)
		if ctx.Err() != nil {
			return
		}
		logger.Error("Event bus subscription failed, restarting", err, nil)
		if !sleep(ctx, restartDelay) {
			return
		}
	}
}

// session holds the consumer's lock, if it has a name, and delivers from its
// checkpoint until ctx ends or something fails.
func (s *Subscriber) session(ctx context.Context, logger watermill.LoggerAdapter, name, topic string, out chan<- *message.Message) error {
	if name != "" {
		conn, err := s.lock(ctx, logger, name)
		if err != nil {
			return err
		}
		lockCtx, cancel := context.WithCancelCause(ctx)
		kept := make(chan struct{})
		go func() {
			defer close(kept)
			s.keepLock(lockCtx, conn, cancel)
		}()
		defer func() {
			// Stop delivering before releasing the lock, or another process
			// could start while this one still delivers.
			cancel(nil)
			<-kept
			closeConn(conn)
		}()
		ctx = lockCtx
	}

	from, err := s.checkpoint(ctx, name)
	if err != nil {
		return err
	}
	logger.Debug("Event bus subscription started", watermill.LogFields{"from": from.String()})
	var skipSaved time.Time
	err = s.log.Tail(ctx, from, s.cfg.Batch, func(ctx context.Context, evs []event.Event) error {
		skipped := false
		for _, e := range evs {
			if topic != AllTopic && e.Stream != topic {
				skipped = true
				continue
			}
			if err := s.deliver(ctx, name, e, out); err != nil {
				return err
			}
			skipped = false
		}
		if name != "" && skipped && time.Since(skipSaved) > skipSaveEvery {
			// The batch ended with events of other topics: move past them
			// now and then, so that a restart does not read them all again.
			skipSaved = time.Now()
			return s.saveCheckpoint(ctx, name, evs[len(evs)-1].Position)
		}
		return nil
	})
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
			return cause // the lock was lost
		}
	}
	return err
}

// deliver hands e over and waits for its Ack, delivering it again after each
// Nack. The message's context ends when it is acknowledged or the
// subscription ends.
func (s *Subscriber) deliver(ctx context.Context, name string, e event.Event, out chan<- *message.Message) error {
	for {
		msg := messageFromEvent(e)
		msgCtx, cancel := context.WithCancel(ctx)
		msg.SetContext(msgCtx)
		select {
		case out <- msg:
		case <-ctx.Done():
			cancel()
			return ctx.Err()
		}
		select {
		case <-msg.Acked():
			cancel()
			if name == "" {
				return nil
			}
			return s.saveCheckpoint(ctx, name, e.Position)
		case <-msg.Nacked():
			cancel()
			if !sleep(ctx, s.cfg.NackDelay) {
				return ctx.Err()
			}
		case <-ctx.Done():
			cancel()
			if name != "" {
				s.settle(ctx, name, e, msg)
			}
			return ctx.Err()
		}
	}
}

// settle waits a little for the verdict on a message whose subscription is
// ending, so that the lock is not released, and another process does not
// start on the same event, while a handler may still commit it. The
// message's context is already cancelled, so a well-behaved handler returns
// quickly.
func (s *Subscriber) settle(ctx context.Context, name string, e event.Event, msg *message.Message) {
	t := time.NewTimer(settleTimeout)
	defer t.Stop()
	select {
	case <-msg.Acked():
		if err := s.saveCheckpoint(ctx, name, e.Position); err != nil {
			s.cfg.Logger.Error("Event bus checkpoint not saved on close", err, nil)
		}
	case <-msg.Nacked():
	case <-t.C:
	}
}

// checkpoint returns where consumer name resumes: after its checkpoint, or
// from the start.
func (s *Subscriber) checkpoint(ctx context.Context, name string) (event.Position, error) {
	if name == "" {
		return event.Start, nil
	}
	var txid, seq int64
	err := s.pool.QueryRow(ctx,
		`SELECT transaction_id::text::bigint, sequence FROM checkpoints WHERE consumer = $1`, name).Scan(&txid, &seq)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return event.Start, nil
	case err != nil:
		return event.Position{}, fmt.Errorf("read checkpoint of %s: %w", name, err)
	}
	return event.Position{Commit: uint64(txid), Prepare: uint64(seq)}, nil
}

// saveCheckpoint moves the checkpoint of consumer name forward to p, never
// back: a projector may already have stored a later one in the transaction
// that applied its events.
//
// It runs even if the subscription is ending, so that an acknowledged event
// is not delivered again after a clean shutdown.
func (s *Subscriber) saveCheckpoint(ctx context.Context, name string, p event.Position) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := s.pool.Exec(ctx, `
		INSERT INTO checkpoints (consumer, transaction_id, sequence, updated_at)
		VALUES ($1, $2::text::xid8, $3, now())
		ON CONFLICT (consumer) DO UPDATE
		SET transaction_id = excluded.transaction_id, sequence = excluded.sequence, updated_at = excluded.updated_at
		WHERE (checkpoints.transaction_id, checkpoints.sequence) < (excluded.transaction_id, excluded.sequence)`,
		name, strconv.FormatUint(p.Commit, 10), int64(p.Prepare))
	if err != nil {
		return fmt.Errorf("save checkpoint %s of %s: %w", p, name, err)
	}
	return nil
}

// lock waits until this process holds the advisory lock of consumer name.
// The lock lives in a session of its own, taken out of the pool, so that it
// is released exactly when that connection closes, even if this process
// dies without closing it.
func (s *Subscriber) lock(ctx context.Context, logger watermill.LoggerAdapter, name string) (*pgx.Conn, error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("acquire lock connection: %w", err)
	}
	conn := pc.Hijack()
	key := lockKey(name)
	waiting := false
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
			closeConn(conn)
			return nil, fmt.Errorf("lock consumer %s: %w", name, err)
		}
		if ok {
			if waiting {
				logger.Info("Took over consumer lock", nil)
			}
			return conn, nil
		}
		if !waiting {
			logger.Info("Consumer is active elsewhere, waiting for its lock", watermill.LogFields{"lock_key": key})
			waiting = true
		}
		if !sleep(ctx, lockPoll) {
			closeConn(conn)
			return nil, ctx.Err()
		}
	}
}

// keepLock checks the lock connection until ctx ends, and ends the session
// through cancel if the connection is lost.
func (s *Subscriber) keepLock(ctx context.Context, conn *pgx.Conn, cancel context.CancelCauseFunc) {
	t := time.NewTicker(s.lockCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := conn.Ping(ctx); err != nil {
			if ctx.Err() == nil {
				cancel(fmt.Errorf("consumer lock lost: %w", err))
			}
			return
		}
	}
}

// lockKey is the advisory lock key of consumer name. The prefix keeps it
// apart from locks other code takes on a hash of some name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("companin/eventbus\x00" + name))
	return int64(h.Sum64())
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn.Close(ctx)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
