package lib

import "time"

// Stamp reads the clock.
func Stamp(s string) string { return s + time.Now().String() }

// Pure does not.
func Pure(s string) string { return s + "!" }
