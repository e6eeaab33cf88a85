package cacheruntime

import "testing"

// TestChainsKeepInsertionOrder: a chain lists its entries in the order
// they were inserted — before and after the table grows — so the first
// keys a program inserts (usually its hottest) are found first.
func TestChainsKeepInsertionOrder(t *testing.T) {
	var sh shard
	sh.cond.L = &sh.mu
	const n = 200
	// Four chains' worth of hashes: the slot index comes from the high
	// half of h1, so these land in slots 0..3 of every table size.
	var es []*entry
	for i := range n {
		e := &entry{h1: uint64(i%4)<<32 | uint64(i)<<8}
		es = append(es, e)
		sh.mu.Lock()
		sh.insert(e)
		sh.mu.Unlock()
		if i == 3 || i == n-1 {
			check(t, &sh, es)
		}
	}
	if got := len(sh.tab.Load().slots); got <= minSlots {
		t.Fatalf("the table never grew (%d slots)", got)
	}
}

// check fails unless each chain of sh holds the entries of es that hash
// to it, in es's order.
func check(t *testing.T, sh *shard, es []*entry) {
	t.Helper()
	tab := sh.tab.Load()
	want := map[uint64][]*entry{}
	for _, e := range es {
		want[tab.index(e.h1)] = append(want[tab.index(e.h1)], e)
	}
	for j := range tab.slots {
		var got []*entry
		for e := tab.slots[j].Load(); e != nil; e = e.next.Load() {
			got = append(got, e)
		}
		w := want[uint64(j)]
		if len(got) != len(w) {
			t.Fatalf("%d slots: chain %d holds %d entries, want %d", len(tab.slots), j, len(got), len(w))
		}
		for i := range got {
			if got[i] != w[i] {
				t.Fatalf("%d slots: chain %d, position %d holds h1 %#x, want %#x (insertion order)", len(tab.slots), j, i, got[i].h1, w[i].h1)
			}
		}
	}
}
