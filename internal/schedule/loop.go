package schedule

import (
	"context"
	"time"
)

// Loop is the timer loop of everything that keeps a credential alive (the
// client's token, a lease): it asks plan for the next task and when it is
// due, waits until then, runs it, and starts over, until ctx ends. A wake
// interrupts the wait and starts a new round (the state changed: plan
// again). A nil task means nothing is due until the next wake.
func Loop(ctx context.Context, wake <-chan struct{}, plan func() (task func(), at time.Time)) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		task, at := plan()
		if task == nil {
			select {
			case <-ctx.Done():
				return
			case <-wake:
				continue
			}
		}
		timer.Reset(time.Until(at))
		select {
		case <-ctx.Done():
			return
		case <-wake:
			timer.Stop() // Go >= 1.23: no stale value can be received after Stop
			continue
		case <-timer.C:
		}
		task()
	}
}
