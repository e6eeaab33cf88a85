//go:build !unix

package main

import "os"

// pollable reports false: the poller path is for Unix pipes.
func pollable(v any) (*os.File, bool) { return nil, false }
