module github.com/cachelens/cachelens/bench

go 1.26.0

require (
	github.com/cachelens/cachelens v0.0.0
	github.com/gohugoio/hashstructure v1.1.0
	github.com/huandu/go-clone v1.7.3
	github.com/mitchellh/hashstructure/v2 v2.0.2
)

require golang.org/x/sys v0.49.0 // indirect

replace github.com/cachelens/cachelens => ../
