package store

import (
	"sync"
	"time"
)

type subscriber struct {
	raw chan struct{}
}

// Subscribe returns a channel that receives the store's version after it
// changes, at most once per interval (changes in between are coalesced
// into one notification). cancel stops the subscription.
func (s *Store) Subscribe(interval time.Duration) (changes <-chan uint64, cancel func()) {
	sub := &subscriber{raw: make(chan struct{}, 1)}
	s.mu.Lock()
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	out := make(chan uint64, 1)
	stop := make(chan struct{})
	go func() {
		defer close(out)
		var last time.Time
		var sent uint64
		for {
			select {
			case <-stop:
				return
			case <-sub.raw:
			}
			if wait := interval - time.Since(last); wait > 0 {
				select {
				case <-stop:
					return
				case <-time.After(wait):
				}
			}
			last = time.Now()
			v := s.Version()
			if v == sent {
				continue // already announced
			}
			sent = v
			select {
			case out <- v:
			case <-stop:
				return
			default:
				// The reader has not taken the previous one yet;
				// replace it with the newer version.
				select {
				case <-out:
				default:
				}
				out <- v
			}
		}
	}()
	var once sync.Once
	return out, func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.subs, sub)
			s.mu.Unlock()
			close(stop)
		})
	}
}
