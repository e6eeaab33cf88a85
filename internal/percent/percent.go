// Package percent formats hit rates so that they never claim more than
// they are: a rate with any miss is never shown as 100%, and one with any
// hit never as 0%.
package percent

import (
	"math"
	"strconv"
)

// Format returns part/total as a percentage with the given number of
// decimals ("94%", "93.8%"). Rounding never reaches 100% while part <
// total, nor 0% while part > 0: such rates read ">99%" or "<0.1%" at
// that precision. A total of 0 reads "0%".
func Format(part, total int64, decimals int) string {
	if total <= 0 || part <= 0 {
		return "0%"
	}
	if part >= total {
		return "100%"
	}
	p := 100 * float64(part) / float64(total)
	scale := math.Pow(10, float64(decimals))
	r := math.Round(p*scale) / scale
	step := 1 / scale
	switch {
	case r >= 100:
		return ">" + strconv.FormatFloat(100-step, 'f', decimals, 64) + "%"
	case r <= 0:
		return "<" + strconv.FormatFloat(step, 'f', decimals, 64) + "%"
	}
	return strconv.FormatFloat(r, 'f', decimals, 64) + "%"
}
