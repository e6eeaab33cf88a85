package cacheruntime

// KeyMask masks the primary key hash so tests can force collisions.
func KeyMask(m uint64) Option {
	return Option{func(c *config) { c.keyMask = m }}
}

// ForceCollisions makes every key's primary hash equal.
func ForceCollisions() Option {
	return Option{func(c *config) { c.keyMask = 1 << 63 }}
}
