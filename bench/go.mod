module github.com/cachelens/cachelens/bench

go 1.26.0

require (
	github.com/cachelens/cachelens v0.0.0
	github.com/gohugoio/hashstructure v1.1.0
	github.com/hashicorp/golang-lru/v2 v2.0.7
	github.com/huandu/go-clone v1.7.3
	github.com/maypok86/otter/v2 v2.4.0
	github.com/mitchellh/hashstructure/v2 v2.0.2
	github.com/zeebo/xxh3 v1.0.2
)

require (
	github.com/klauspost/cpuid/v2 v2.0.9 // indirect
	github.com/segmentio/asm v1.1.3 // indirect
	github.com/segmentio/encoding v0.3.4 // indirect
	go.lsp.dev/jsonrpc2 v0.10.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)

replace github.com/cachelens/cachelens => ../
