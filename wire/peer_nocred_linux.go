package wire

import "errors"

// ErrNoPeerCred is returned where the standard library cannot read a
// socket peer's credentials (never on Linux).
var ErrNoPeerCred = errors.New("wire: reading a socket peer's uid is not supported here")
