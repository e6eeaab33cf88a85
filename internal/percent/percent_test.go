package percent

import "testing"

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		part, total int64
		decimals    int
		want        string
	}{
		{0, 0, 0, "0%"},
		{0, 5, 0, "0%"},
		{5, 5, 0, "100%"},
		{94, 100, 0, "94%"},
		{995, 1000, 0, ">99%"}, // 5 misses: rounding would say 100%
		{9999, 10000, 1, ">99.9%"},
		{999, 1000, 1, "99.9%"},
		{1, 1000, 0, "<1%"},
		{1, 100000, 1, "<0.1%"},
		{2, 3, 1, "66.7%"},
	} {
		if got := Format(c.part, c.total, c.decimals); got != c.want {
			t.Errorf("Format(%d, %d, %d) = %q, want %q", c.part, c.total, c.decimals, got, c.want)
		}
	}
}
