package bench

import (
	"runtime"
	"slices"
	"syscall"
	"time"
)

// percentile is the nearest-rank percentile p (0-100) of xs; xs is sorted
// in place. 0 for no samples.
func percentile[T int64 | float64 | time.Duration](xs []T, p float64) T {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := int(p/100*float64(len(xs))+0.999999) - 1
	return xs[min(max(i, 0), len(xs)-1)]
}

// memSnap is the allocation counters at one instant.
type memSnap struct{ mallocs, bytes uint64 }

func readMem() memSnap {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSnap{m.Mallocs, m.TotalAlloc}
}

func (a memSnap) sub(b memSnap) memSnap { return memSnap{a.mallocs - b.mallocs, a.bytes - b.bytes} }

// selfCPU is the process's user + system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
