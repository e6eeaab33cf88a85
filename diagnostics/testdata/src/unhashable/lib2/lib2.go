package lib2

type Conn struct {
	Addr  string
	Retry int
	dial  func() error
}
