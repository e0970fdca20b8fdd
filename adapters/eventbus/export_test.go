package eventbus

import "time"

// SetLockCheck shortens how soon s notices a lost lock; call before Subscribe.
func SetLockCheck(s *Subscriber, d time.Duration) { s.lockCheck = d }
