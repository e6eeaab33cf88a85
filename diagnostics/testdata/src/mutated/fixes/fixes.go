package fixes

import "github.com/cachelens/cachelens/cacheruntime"

type Report struct {
	Rows []int
}

func build(n int) *Report { return &Report{Rows: make([]int, n)} }

func buildE(n int) (*Report, error) { return build(n), nil }

var report = cacheruntime.Func1(build)

var reportE = cacheruntime.Func1E(buildE)

func single() {
	r := report(3)
	r.Rows[0] = 1 // want `assignment to r\.Rows\[0\]`
}

func withError() error {
	r, err := reportE(3)
	if err != nil {
		return err
	}
	r.Rows[1]++ // want `r\.Rows\[1\]\+\+`
	return nil
}
