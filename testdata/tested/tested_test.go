package tested

import "testing"

func TestSquare(t *testing.T) {
	for range 100 {
		if Square(7) != 49 { // 1 miss, 99 hits
			t.Fatal("wrong square")
		}
	}
}
