package bench

import (
	"math/bits"
	"time"
)

// histogram records latencies in constant memory (HDR-style buckets: 32
// sub-buckets per power of two, so any percentile is within ~3% of the
// true value). The soak uses it so that its own bookkeeping does not grow
// the heap it is watching; the load generator keeps exact samples instead.
type histogram struct {
	counts [64 * histSub]uint64
	n      uint64
}

const histSubBits = 5
const histSub = 1 << histSubBits

func histIndex(d time.Duration) int {
	v := uint64(max(d, 0))
	if v < histSub {
		return int(v)
	}
	exp := bits.Len64(v) - 1 - histSubBits // v >> exp has histSubBits+1 bits
	return (exp+1)*histSub + int(v>>exp) - histSub
}

// histValue is the upper bound of bucket i's values.
func histValue(i int) time.Duration {
	if i < histSub {
		return time.Duration(i)
	}
	exp := i/histSub - 1
	mant := uint64(i%histSub + histSub)
	return time.Duration((mant+1)<<exp - 1)
}

func (h *histogram) record(d time.Duration) {
	h.counts[histIndex(d)]++
	h.n++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// percentile returns the upper bound of the bucket holding the p-th
// percentile (nearest rank), 0 when empty.
func (h *histogram) percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(p / 100 * float64(h.n))
	if float64(rank) < p/100*float64(h.n) {
		rank++
	}
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return histValue(i)
		}
	}
	return histValue(len(h.counts) - 1)
}
