package vaulttest

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Load drives a client under test with concurrent readers and writers while
// a scenario (kill a node, seal it, restart it...) runs, and measures what
// the client's users would see. It knows nothing of the client: Read and
// Write are the client's calls.
type Load struct {
	// Readers and Writers are the numbers of goroutines.
	Readers, Writers int
	// Read makes one read; an error is a failed read.
	Read func(ctx context.Context) error
	// Write makes writer w's n-th write (n from 1); an error is a failed
	// write. Acknowledged writes are the caller's to verify afterwards.
	Write func(ctx context.Context, w, n int) error
	// RequestTimeout bounds each call (default 30 s).
	RequestTimeout time.Duration
	// Pace is the pause between calls of one goroutine (default none).
	Pace time.Duration
}

// LoadReport is what a Load saw.
type LoadReport struct {
	Reads, FailedReads   int
	Writes, FailedWrites int
	// FirstReadError and FirstWriteError are the first failures.
	FirstReadError, FirstWriteError error
	// LongestReadGap is the longest time without a successful read, and
	// when it began (relative to the start).
	LongestReadGap  time.Duration
	LongestGapAt    time.Duration
	LongestWriteGap time.Duration
	WriteGapAt      time.Duration
	ReadsPerWindow  []int // successful reads per second, for a plot
	Duration        time.Duration
	successes       []time.Duration // of reads, relative to start
	writeSuccesses  []time.Duration
}

// FirstWriteAfter is the time from t (since the start) to the end of the
// first successful write that ended after it (-1 when none did).
func (r *LoadReport) FirstWriteAfter(t time.Duration) time.Duration {
	for _, s := range r.writeSuccesses {
		if s >= t {
			return s - t
		}
	}
	return -1
}

// FirstReadAfter is the same for reads (a read under way at t may count).
func (r *LoadReport) FirstReadAfter(t time.Duration) time.Duration {
	for _, s := range r.successes {
		if s >= t {
			return s - t
		}
	}
	return -1
}

// Run drives the load until scenario returns (it runs in the calling
// goroutine; it receives the start time), then stops the load and reports.
func (l Load) Run(scenario func(start time.Time)) *LoadReport {
	timeout := l.RequestTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	var (
		mu    sync.Mutex
		rep   LoadReport
		wg    sync.WaitGroup
		stop  = make(chan struct{})
		start = time.Now()
	)
	done := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	pause := func() {
		if l.Pace > 0 {
			time.Sleep(l.Pace) // pacing the load generator, not waiting for logic
		}
	}
	call := func(f func(ctx context.Context) error) (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		err := f(ctx)
		return time.Since(start), err
	}
	for range l.Readers {
		wg.Go(func() {
			for !done() {
				at, err := call(l.Read)
				mu.Lock()
				rep.Reads++
				if err != nil {
					rep.FailedReads++
					if rep.FirstReadError == nil {
						rep.FirstReadError = err
					}
				} else {
					rep.successes = append(rep.successes, at)
				}
				mu.Unlock()
				pause()
			}
		})
	}
	for w := range l.Writers {
		wg.Go(func() {
			for n := 1; !done(); n++ {
				at, err := call(func(ctx context.Context) error { return l.Write(ctx, w, n) })
				mu.Lock()
				rep.Writes++
				if err != nil {
					rep.FailedWrites++
					if rep.FirstWriteError == nil {
						rep.FirstWriteError = err
					}
				} else {
					rep.writeSuccesses = append(rep.writeSuccesses, at)
				}
				mu.Unlock()
				pause()
			}
		})
	}
	scenario(start)
	close(stop)
	wg.Wait()
	rep.Duration = time.Since(start)
	rep.LongestReadGap, rep.LongestGapAt = longestGap(rep.successes, rep.Duration)
	rep.LongestWriteGap, rep.WriteGapAt = longestGap(rep.writeSuccesses, rep.Duration)
	if len(rep.successes) > 0 {
		rep.ReadsPerWindow = make([]int, int(rep.Duration/time.Second)+1)
		for _, s := range rep.successes {
			rep.ReadsPerWindow[int(s/time.Second)]++
		}
	}
	return &rep
}

// longestGap is the longest stretch between successes (from the start to
// the first, and from the last to the end included).
func longestGap(at []time.Duration, end time.Duration) (gap, from time.Duration) {
	s := append([]time.Duration(nil), at...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	prev := time.Duration(0)
	for _, t := range append(s, end) {
		if t-prev > gap {
			gap, from = t-prev, prev
		}
		prev = t
	}
	return gap, from
}
