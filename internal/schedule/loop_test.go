package schedule

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		wake := make(chan struct{}, 1)
		start := time.Now()
		var ran []time.Duration
		next := start.Add(time.Minute)
		idle := false
		done := make(chan struct{})
		go func() {
			defer close(done)
			Loop(ctx, wake, func() (func(), time.Time) {
				if idle {
					return nil, time.Time{}
				}
				return func() {
					ran = append(ran, time.Since(start))
					next = next.Add(time.Minute)
					if len(ran) == 3 {
						idle = true
					}
				}, next
			})
		}()
		time.Sleep(10 * time.Minute) // simulated time: three tasks at 1, 2, 3 min, then idle
		synctest.Wait()
		if len(ran) != 3 || ran[0] != time.Minute || ran[2] != 3*time.Minute {
			t.Fatalf("ran at %v", ran)
		}
		// A wake makes it plan again: the new task runs at its own time.
		idle = false
		next = time.Now().Add(30 * time.Second)
		wake <- struct{}{}
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if len(ran) != 4 || ran[3] != 10*time.Minute+30*time.Second {
			t.Fatalf("after a wake: ran at %v", ran)
		}
		// A wake during a wait replans before the old time.
		next = time.Now().Add(time.Hour)
		wake <- struct{}{}
		synctest.Wait()
		next = time.Now().Add(time.Second)
		wake <- struct{}{}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if len(ran) != 5 {
			t.Fatalf("the wake did not replan: ran at %v", ran)
		}
		cancel()
		<-done
	})
}
