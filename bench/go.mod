module github.com/cachelens/cachelens/bench

go 1.26.0

require (
	github.com/cachelens/cachelens v0.0.0
	github.com/cachelens/cachelens/exporters/otel v0.0.0
	github.com/cachelens/cachelens/exporters/prometheus v0.0.0
	github.com/cachelens/cachelens/stores/redis v0.0.0
	github.com/go-redis/cache/v9 v9.0.0
	github.com/gohugoio/hashstructure v1.1.0
	github.com/hashicorp/golang-lru/v2 v2.0.7
	github.com/huandu/go-clone v1.7.3
	github.com/maypok86/otter/v2 v2.4.0
	github.com/mitchellh/hashstructure/v2 v2.0.2
	github.com/prometheus/client_golang v1.25.0
	github.com/redis/go-redis/v9 v9.23.0
	github.com/redis/rueidis v1.0.79
	github.com/zeebo/xxh3 v1.1.0
	go.opentelemetry.io/otel/sdk/metric v1.47.0
)

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/go-logr/stdr v1.2.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/klauspost/compress v1.20.1 // indirect
	github.com/klauspost/cpuid/v2 v2.4.0 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/segmentio/asm v1.1.3 // indirect
	github.com/segmentio/encoding v0.3.4 // indirect
	github.com/vmihailenco/go-tinylfu v0.2.2 // indirect
	github.com/vmihailenco/msgpack/v5 v5.3.4 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	go.lsp.dev/jsonrpc2 v0.10.0 // indirect
	go.opentelemetry.io/auto/sdk v1.2.1 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/log v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	go.opentelemetry.io/otel/sdk v1.47.0 // indirect
	go.opentelemetry.io/otel/trace v1.47.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace github.com/cachelens/cachelens => ../

replace github.com/cachelens/cachelens/stores/redis => ../stores/redis

replace github.com/cachelens/cachelens/exporters/prometheus => ../exporters/prometheus

replace github.com/cachelens/cachelens/exporters/otel => ../exporters/otel
