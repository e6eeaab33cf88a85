package cacheruntime_test

import (
	"errors"
	"fmt"

	"github.com/cachelens/cachelens/cacheruntime"
)

func asHashError(err error, target **cacheruntime.HashError) bool {
	return errors.As(err, target)
}

// sscanRange parses a chunk path like "[491520:557056]".
func sscanRange(path string, lo, hi *int) (int, error) {
	return fmt.Sscanf(path, "[%d:%d]", lo, hi)
}
