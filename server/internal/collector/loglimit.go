package collector

import (
	"sync"
	"time"
)

// A logLimit keeps a flood of one kind of message — from hostile
// connections, a directory full of junk, thousands of short runs — from
// flooding the log: it lets through the first few messages of each kind,
// then one per interval, which says how many like it were left out.
type logLimit struct {
	logf     func(string, ...any)
	burst    int
	interval time.Duration

	mu    sync.Mutex
	kinds map[string]*logKind
}

type logKind struct {
	n    int
	left int64     // left out since the last one logged
	last time.Time // when one was last logged
}

// Log limits: the first logBurst messages of a kind, then one a minute.
const (
	logBurst    = 10
	logInterval = time.Minute
)

func newLogLimit(logf func(string, ...any)) *logLimit {
	return &logLimit{logf: logf, burst: logBurst, interval: logInterval, kinds: map[string]*logKind{}}
}

// printf logs the message, of the given kind, unless too many of its kind
// came lately.
func (l *logLimit) printf(kind, format string, args ...any) {
	now := time.Now()
	l.mu.Lock()
	k := l.kinds[kind]
	if k == nil {
		k = &logKind{}
		l.kinds[kind] = k
	}
	k.n++
	if k.n > l.burst && now.Sub(k.last) < l.interval {
		k.left++
		l.mu.Unlock()
		return
	}
	left := k.left
	k.left, k.last = 0, now
	l.mu.Unlock()
	if left > 0 {
		format += " (and %d more like it not logged)"
		args = append(args, left)
	}
	l.logf(format, args...)
}
