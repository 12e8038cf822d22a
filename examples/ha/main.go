// Command ha reads a secret from a Vault cluster on several goroutines and
// shows what the client does when a node fails: every second, the reads and
// failed reads and the node(s) the reads went to; each change of node as it
// happens (an Observer's NoticeNode; past four in a second, only counted);
// at the end a summary line. Given the cluster's node addresses in
// VAULT_ADDRS, the client fails over between them: make demo-ha kills the
// leader under it and expects 0 failed reads.
//
//	VAULT_ADDRS=http://127.0.0.1:8200,http://127.0.0.1:8210,http://127.0.0.1:8220 VAULT_TOKEN=... \
//	  go run ./examples/ha -duration 60s -path secret/data/myapp/config
//
// Any auth method auth.FromEnv knows works (VAULT_ROLE_ID and
// VAULT_SECRET_ID for AppRole...). It never prints a secret value. It exits
// with status 1 when a read failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	"github.com/gdsvault/gdsvault/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ha:", err)
		os.Exit(1)
	}
}

// run reads until the duration passes or ctx ends, then prints the summary.
// It returns an error when a read failed.
func run(ctx context.Context, args []string, lookup config.LookupFunc, out io.Writer) error {
	fs := flag.NewFlagSet("ha", flag.ContinueOnError)
	fs.SetOutput(out)
	path := fs.String("path", "secret/data/myapp/config", "secret to read")
	duration := fs.Duration("duration", 0, "how long to read (0: until interrupted)")
	readers := fs.Int("readers", 8, "goroutines reading")
	pace := fs.Duration("pace", 10*time.Millisecond, "pause between two reads of one goroutine")
	timeout := fs.Duration("timeout", 30*time.Second, "bound of one read")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *readers < 1 || *duration < 0 || *pace < 0 || *timeout <= 0 {
		return errors.New("-readers must be at least 1, -duration and -pace not negative, -timeout positive")
	}

	watch := &nodeWatch{changes: make(chan gdsvault.Notice, 64), requests: map[string]int{}}
	// The client logs node changes too: silenced, the observer prints them.
	client, err := auth.FromEnv(lookup, gdsvault.WithObserver(watch), gdsvault.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	defer client.Close(context.WithoutCancel(ctx))

	// One read first: a wrong path or credential stops here, not 8 times a
	// second.
	first, cancel := context.WithTimeout(ctx, *timeout)
	_, err = client.GetSecret(first, *path)
	cancel()
	if err != nil {
		return fmt.Errorf("first read of %s: %w", *path, err)
	}
	fmt.Fprintf(out, "reading %s on %d goroutines from %s\n", *path, *readers, nodeList(client.Nodes()))

	readCtx := ctx
	if *duration > 0 {
		var cancel context.CancelFunc
		readCtx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	start := time.Now()
	t := &tally{start: start, lastOK: start}
	var wg sync.WaitGroup
	for range *readers {
		wg.Go(func() {
			for readCtx.Err() == nil {
				rctx, cancel := context.WithTimeout(readCtx, *timeout)
				_, err := client.GetSecret(rctx, *path)
				cancel()
				if err != nil && readCtx.Err() != nil {
					return // stopped in flight: not a failure
				}
				t.add(err)
				if *pace > 0 {
					select { // the reader's pace
					case <-readCtx.Done():
					case <-time.After(*pace):
					}
				}
			}
		})
	}

	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	// During an election the client may move several times a second:
	// the first few changes of each second are shown, the others counted.
	const shownPerSecond = 4
	changes, shown, hidden := 0, 0, 0
	since := func() string { return fmt.Sprintf("%5.1fs", time.Since(start).Seconds()) }
	change := func(n gdsvault.Notice) {
		changes++
		if shown++; shown > shownPerSecond {
			hidden++
			return
		}
		fmt.Fprintf(out, "%s  node change: %s -> %s (%s)\n", since(), n.From, n.To, n.Reason)
	}
loop:
	for {
		select {
		case <-readCtx.Done():
			break loop
		case n := <-watch.changes:
			change(n)
		case <-tick.C:
			reads, failed := t.window()
			more := ""
			if hidden > 0 {
				more = fmt.Sprintf("  (+%d node changes not shown)", hidden)
			}
			fmt.Fprintf(out, "%s  %5d reads/s  %3d failed  via %s  [%s]%s\n", since(), reads, failed, watch.window(), nodeList(client.Nodes()), more)
			shown, hidden = 0, 0
		}
	}
	wg.Wait()
	for len(watch.changes) > 0 {
		change(<-watch.changes)
	}

	s := t.summary(time.Now())
	fmt.Fprintf(out, "summary: %d reads in %s, %d failed, longest without a successful read %s (at %s), %d node changes\n",
		s.reads, time.Since(start).Round(100*time.Millisecond), s.failed, s.gap.Round(time.Millisecond), s.gapAt.Round(100*time.Millisecond), changes)
	if s.failed > 0 {
		return fmt.Errorf("%d of %d reads failed; first: %w", s.failed, s.reads, s.firstErr)
	}
	return nil
}

// nodeWatch is the client's observer: it counts the requests each node gets
// and passes node changes on. Its methods run on the request path: quick, no
// printing there.
type nodeWatch struct {
	gdsvault.NopObserver
	changes chan gdsvault.Notice

	mu       sync.Mutex
	requests map[string]int // node -> requests since the last window
}

func (w *nodeWatch) StartRequest(ctx context.Context, r gdsvault.RequestInfo) (context.Context, func(gdsvault.RequestOutcome)) {
	w.mu.Lock()
	w.requests[r.Node]++
	w.mu.Unlock()
	return ctx, ignoreOutcome
}

func ignoreOutcome(gdsvault.RequestOutcome) {}

func (w *nodeWatch) Notice(n gdsvault.Notice) {
	if n.Kind != gdsvault.NoticeNode {
		return
	}
	select {
	case w.changes <- n:
	default: // a slow terminal must not slow the reads
	}
}

// window returns the nodes requests went to since the last call, with how
// many, busiest first, and starts a new window.
func (w *nodeWatch) window() string {
	w.mu.Lock()
	counts := w.requests
	w.requests = map[string]int{}
	w.mu.Unlock()
	if len(counts) == 0 {
		return "-"
	}
	nodes := make([]string, 0, len(counts))
	for n := range counts {
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b string) int { return counts[b] - counts[a] })
	if len(nodes) == 1 {
		return nodes[0]
	}
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		parts[i] = fmt.Sprintf("%s (%d)", n, counts[n])
	}
	return strings.Join(parts, ", ")
}

// nodeList says what the client knows of each node: active, up (a standby
// or not known yet) or down.
func nodeList(nodes []gdsvault.NodeStatus) string {
	parts := make([]string, len(nodes))
	for i, n := range nodes {
		state := "up"
		switch {
		case !n.Up:
			state = "down"
		case n.Active:
			state = "active"
		}
		parts[i] = n.Address + " " + state
	}
	return strings.Join(parts, ", ")
}

// tally counts the reads: per window (a second) and in all, and the longest
// time between two successful reads.
type tally struct {
	mu                        sync.Mutex
	start                     time.Time
	reads, failed             int
	windowReads, windowFailed int
	firstErr                  error
	lastOK                    time.Time
	gap                       time.Duration
	gapFrom                   time.Time
}

func (t *tally) add(err error) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.reads++
	t.windowReads++
	if err != nil {
		t.failed++
		t.windowFailed++
		if t.firstErr == nil {
			t.firstErr = err
		}
		return
	}
	if d := now.Sub(t.lastOK); d > t.gap {
		t.gap, t.gapFrom = d, t.lastOK
	}
	t.lastOK = now
}

func (t *tally) window() (reads, failed int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	reads, failed = t.windowReads, t.windowFailed
	t.windowReads, t.windowFailed = 0, 0
	return reads, failed
}

type summary struct {
	reads, failed int
	firstErr      error
	gap, gapAt    time.Duration // gapAt: since the start
}

// summary closes the tally at end: a gap still open counts.
func (t *tally) summary(end time.Time) summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	gap, from := t.gap, t.gapFrom
	if d := end.Sub(t.lastOK); d > gap {
		gap, from = d, t.lastOK
	}
	return summary{reads: t.reads, failed: t.failed, firstErr: t.firstErr, gap: gap, gapAt: from.Sub(t.start)}
}
