package cacheruntime

// Reporter sends cache events to a cachelens language server.
type Reporter struct{}

func defaultReporter() *Reporter { return nil }

func (r *Reporter) register(c *cache) {}

// Flush sends everything recorded so far to the language server, if one is
// connected, and waits briefly for it to be written. Programs that exit
// early and tests call it; it never blocks for long.
func Flush() {}
