package secretcache

import (
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestComputeLifetime is the expiry maths: how long a value fetched at a
// given instant stays fresh, and when it stops being servable at all.
func TestComputeLifetime(t *testing.T) {
	const (
		margin = DefaultLeaseMargin
		buffer = DefaultRotationBuffer
	)
	tests := []struct {
		name    string
		fetched string
		ttl     time.Duration
		hints   Hints
		life    time.Duration
		hardEnd string // RFC 3339, "" for none
		badSpec bool
	}{
		{name: "ttl only", fetched: "2026-03-05T01:00:00Z", ttl: 5 * time.Minute, life: 5 * time.Minute},
		{name: "zero ttl", fetched: "2026-03-05T01:00:00Z", ttl: 0, life: 0},

		// Leases: max(lease - margin, lease/2), hard end at the lease's end.
		{name: "lease longer than ttl", fetched: "2026-03-05T01:00:00Z", ttl: 5 * time.Minute,
			hints: Hints{LeaseTTL: time.Hour}, life: 5 * time.Minute, hardEnd: "2026-03-05T02:00:00Z"},
		{name: "lease minus margin", fetched: "2026-03-05T01:00:00Z", ttl: 2 * time.Hour,
			hints: Hints{LeaseTTL: time.Hour}, life: time.Hour - margin, hardEnd: "2026-03-05T02:00:00Z"},
		{name: "lease 10m", fetched: "2026-03-05T01:00:00Z", ttl: time.Hour,
			hints: Hints{LeaseTTL: 10 * time.Minute}, life: 9 * time.Minute, hardEnd: "2026-03-05T01:10:00Z"},
		{name: "lease equal to margin: floor half", fetched: "2026-03-05T01:00:00Z", ttl: time.Hour,
			hints: Hints{LeaseTTL: time.Minute}, life: 30 * time.Second, hardEnd: "2026-03-05T01:01:00Z"},
		{name: "lease 90s: floor half beats lease-margin", fetched: "2026-03-05T01:00:00Z", ttl: time.Hour,
			hints: Hints{LeaseTTL: 90 * time.Second}, life: 45 * time.Second, hardEnd: "2026-03-05T01:01:30Z"},
		{name: "lease 2m: both 60s", fetched: "2026-03-05T01:00:00Z", ttl: time.Hour,
			hints: Hints{LeaseTTL: 2 * time.Minute}, life: time.Minute, hardEnd: "2026-03-05T01:02:00Z"},
		{name: "lease shorter than margin", fetched: "2026-03-05T01:00:00Z", ttl: time.Hour,
			hints: Hints{LeaseTTL: 10 * time.Second}, life: 5 * time.Second, hardEnd: "2026-03-05T01:00:10Z"},

		// Database static roles.
		{name: "static role", fetched: "2026-03-05T01:00:00Z", ttl: time.Hour,
			hints: Hints{NextRotationIn: 30 * time.Minute}, life: 20 * time.Minute, hardEnd: "2026-03-05T01:30:00Z"},
		{name: "static role within buffer", fetched: "2026-03-05T01:00:00Z", ttl: time.Hour,
			hints: Hints{NextRotationIn: 5 * time.Minute}, life: -5 * time.Minute, hardEnd: "2026-03-05T01:05:00Z"},
		{name: "static role after ttl", fetched: "2026-03-05T01:00:00Z", ttl: 5 * time.Minute,
			hints: Hints{NextRotationIn: 24 * time.Hour}, life: 5 * time.Minute, hardEnd: "2026-03-06T01:00:00Z"},

		// Cron in UTC (the default zone) and in named zones.
		{name: "cron utc", fetched: "2026-03-05T01:00:00Z", ttl: 24 * time.Hour,
			hints: Hints{RotationSchedule: "0 2 * * *"}, life: 50 * time.Minute, hardEnd: "2026-03-05T02:00:00Z"},
		{name: "cron utc, ttl shorter", fetched: "2026-03-05T01:00:00Z", ttl: 5 * time.Minute,
			hints: Hints{RotationSchedule: "0 2 * * *"}, life: 5 * time.Minute, hardEnd: "2026-03-05T02:00:00Z"},
		{name: "cron utc within buffer", fetched: "2026-03-05T01:55:00Z", ttl: 5 * time.Minute,
			hints: Hints{RotationSchedule: "0 2 * * *"}, life: -5 * time.Minute, hardEnd: "2026-03-05T02:00:00Z"},
		{name: "cron utc just after rotation", fetched: "2026-03-05T02:00:01Z", ttl: 48 * time.Hour,
			hints: Hints{RotationSchedule: "0 2 * * *"}, life: 24*time.Hour - time.Second - buffer, hardEnd: "2026-03-06T02:00:00Z"},
		{name: "cron new york (EST)", fetched: "2026-03-05T01:00:00Z", ttl: 24 * time.Hour,
			hints: Hints{RotationSchedule: "0 2 * * *", TimeZone: "America/New_York"},
			life:  6*time.Hour - buffer, hardEnd: "2026-03-05T07:00:00Z"},
		{name: "cron new york (EDT)", fetched: "2026-07-05T01:00:00Z", ttl: 24 * time.Hour,
			hints: Hints{RotationSchedule: "0 2 * * *", TimeZone: "America/New_York"},
			life:  5*time.Hour - buffer, hardEnd: "2026-07-05T06:00:00Z"},
		{name: "cron berlin (CET)", fetched: "2026-03-05T00:30:00Z", ttl: 24 * time.Hour,
			hints: Hints{RotationSchedule: "0 2 * * *", TimeZone: "Europe/Berlin"},
			life:  30*time.Minute - buffer, hardEnd: "2026-03-05T01:00:00Z"},
		{name: "CRON_TZ prefix wins over TimeZone", fetched: "2026-03-05T01:00:00Z", ttl: 24 * time.Hour,
			hints: Hints{RotationSchedule: "CRON_TZ=America/New_York 0 2 * * *", TimeZone: "Europe/Berlin"},
			life:  6*time.Hour - buffer, hardEnd: "2026-03-05T07:00:00Z"},
		{name: "descriptor @daily in zone", fetched: "2026-03-05T01:00:00Z", ttl: 24 * time.Hour,
			hints: Hints{RotationSchedule: "@daily", TimeZone: "America/New_York"},
			life:  4*time.Hour - buffer, hardEnd: "2026-03-05T05:00:00Z"},

		// DST days.
		{name: "new york fall back: 03:00 is EST the day after", fetched: "2026-10-31T12:00:00Z", ttl: 48 * time.Hour,
			hints: Hints{RotationSchedule: "0 3 * * *", TimeZone: "America/New_York"},
			life:  20*time.Hour - buffer, hardEnd: "2026-11-01T08:00:00Z"},
		{name: "new york fall back: repeated 01:30, first", fetched: "2026-10-31T12:00:00Z", ttl: 48 * time.Hour,
			hints: Hints{RotationSchedule: "30 1 * * *", TimeZone: "America/New_York"},
			life:  17*time.Hour + 30*time.Minute - buffer, hardEnd: "2026-11-01T05:30:00Z"},
		{name: "new york fall back: repeated 01:30, second", fetched: "2026-11-01T05:31:00Z", ttl: 48 * time.Hour,
			hints: Hints{RotationSchedule: "30 1 * * *", TimeZone: "America/New_York"},
			life:  59*time.Minute - buffer, hardEnd: "2026-11-01T06:30:00Z"},
		{name: "new york spring forward: skipped 02:30 rotates at the jump", fetched: "2026-03-07T12:00:00Z", ttl: 48 * time.Hour,
			hints: Hints{RotationSchedule: "30 2 * * *", TimeZone: "America/New_York"},
			life:  19*time.Hour - buffer, hardEnd: "2026-03-08T07:00:00Z"},
		{name: "new york spring forward: day after", fetched: "2026-03-08T07:00:01Z", ttl: 48 * time.Hour,
			hints: Hints{RotationSchedule: "30 2 * * *", TimeZone: "America/New_York"},
			life:  23*time.Hour + 29*time.Minute + 59*time.Second - buffer, hardEnd: "2026-03-09T06:30:00Z"},
		{name: "berlin spring forward: skipped 02:30", fetched: "2026-03-28T12:00:00Z", ttl: 48 * time.Hour,
			hints: Hints{RotationSchedule: "30 2 * * *", TimeZone: "Europe/Berlin"},
			life:  13*time.Hour - buffer, hardEnd: "2026-03-29T01:00:00Z"},
		{name: "berlin spring forward: 04:00 is CEST", fetched: "2026-03-28T12:00:00Z", ttl: 48 * time.Hour,
			hints: Hints{RotationSchedule: "0 4 * * *", TimeZone: "Europe/Berlin"},
			life:  14*time.Hour - buffer, hardEnd: "2026-03-29T02:00:00Z"},
		{name: "berlin fall back: repeated 02:30", fetched: "2026-10-25T00:31:00Z", ttl: 48 * time.Hour,
			hints: Hints{RotationSchedule: "30 2 * * *", TimeZone: "Europe/Berlin"},
			life:  59*time.Minute - buffer, hardEnd: "2026-10-25T01:30:00Z"},

		// Unusable schedules are ignored.
		{name: "bad cron", fetched: "2026-03-05T01:00:00Z", ttl: 5 * time.Minute,
			hints: Hints{RotationSchedule: "0 2 * *"}, life: 5 * time.Minute, badSpec: true},
		{name: "bad zone", fetched: "2026-03-05T01:00:00Z", ttl: 5 * time.Minute,
			hints: Hints{RotationSchedule: "0 2 * * *", TimeZone: "Mars/Olympus"}, life: 5 * time.Minute, badSpec: true},
		{name: "bad cron keeps the lease bound", fetched: "2026-03-05T01:00:00Z", ttl: time.Hour,
			hints: Hints{RotationSchedule: "every day", LeaseTTL: 10 * time.Minute},
			life:  9 * time.Minute, hardEnd: "2026-03-05T01:10:00Z", badSpec: true},
		{name: "schedule that never fires", fetched: "2026-03-05T01:00:00Z", ttl: 5 * time.Minute,
			hints: Hints{RotationSchedule: "0 0 30 2 *"}, life: 5 * time.Minute},

		// LastRotation.
		{name: "@every counts from the last rotation", fetched: "2026-03-05T01:00:00Z", ttl: 48 * time.Hour,
			hints: Hints{RotationSchedule: "@every 720h", LastRotation: mustTime(t, "2026-03-05T01:00:00Z").Add(-700 * time.Hour)},
			life:  20*time.Hour - buffer, hardEnd: "2026-03-05T21:00:00Z"},
		{name: "last rotation done", fetched: "2026-03-05T02:05:00Z", ttl: 5 * time.Minute,
			hints: Hints{RotationSchedule: "0 2 * * *", LastRotation: mustTime(t, "2026-03-05T02:00:30Z")},
			life:  5 * time.Minute, hardEnd: "2026-03-06T02:00:00Z"},
		{name: "rotation overdue, within grace: not fresh, no hard end", fetched: "2026-03-05T02:05:00Z", ttl: 5 * time.Minute,
			hints: Hints{RotationSchedule: "0 2 * * *", LastRotation: mustTime(t, "2026-03-04T02:00:30Z")},
			life:  0},
		{name: "rotation overdue past grace: schedule from fetch time", fetched: "2026-03-05T02:30:00Z", ttl: 5 * time.Minute,
			hints: Hints{RotationSchedule: "0 2 * * *", LastRotation: mustTime(t, "2026-03-04T02:00:30Z")},
			life:  5 * time.Minute, hardEnd: "2026-03-06T02:00:00Z"},
		{name: "last rotation after fetch (clock skew)", fetched: "2026-03-05T02:00:01Z", ttl: 5 * time.Minute,
			hints: Hints{RotationSchedule: "* * * * *", LastRotation: mustTime(t, "2026-03-05T02:00:40Z")},
			life:  -9*time.Minute - time.Second, hardEnd: "2026-03-05T02:01:00Z"},
		{name: "last rotation long ago, stale metadata", fetched: "2026-03-05T01:00:00Z", ttl: 5 * time.Minute,
			hints: Hints{RotationSchedule: "0 2 * * *", LastRotation: mustTime(t, "2025-01-01T00:00:00Z")},
			life:  5 * time.Minute, hardEnd: "2026-03-05T02:00:00Z"},

		// Everything at once: the smallest bound and the earliest end win.
		{name: "lease, static role and cron", fetched: "2026-03-05T01:00:00Z", ttl: 24 * time.Hour,
			hints: Hints{LeaseTTL: 2 * time.Hour, NextRotationIn: 90 * time.Minute, RotationSchedule: "0 3 * * *"},
			life:  80 * time.Minute, hardEnd: "2026-03-05T02:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fetched := mustTime(t, tt.fetched)
			got := computeLifetime(fetched, tt.ttl, tt.hints, margin, buffer)
			if got.life != tt.life {
				t.Errorf("life = %v, want %v", got.life, tt.life)
			}
			var want time.Time
			if tt.hardEnd != "" {
				want = mustTime(t, tt.hardEnd)
			}
			if !got.hardEnd.Equal(want) {
				t.Errorf("hard end = %v, want %v", got.hardEnd.UTC(), want)
			}
			if (got.scheduleErr != nil) != tt.badSpec {
				t.Errorf("schedule error = %v, want error: %v", got.scheduleErr, tt.badSpec)
			}
		})
	}
}

// TestScheduleNextNeverLaterThanRobfig checks, every 3h17m over a
// year, in zones with DST (Lord Howe's is half an hour), that the
// conservative next rotation is after the given time, never after
// robfig/cron's answer, and differs from it only around a clock change.
func TestScheduleNextNeverLaterThanRobfig(t *testing.T) {
	for _, tz := range []string{"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"} {
		for _, spec := range []string{"0 2 * * *", "30 2 * * *", "30 1 * * 0", "15 */6 * * *", "0 0 1 * *"} {
			s, err := parseSchedule(spec, tz)
			if err != nil {
				t.Fatal(err)
			}
			from := mustTime(t, "2026-01-01T00:00:00Z")
			for at := from; at.Before(from.AddDate(1, 0, 0)); at = at.Add(3*time.Hour + 17*time.Minute) {
				robfig, ours := s.Next(at), scheduleNext(s, at)
				if !ours.After(at) || ours.After(robfig) {
					t.Fatalf("%s %q from %v: ours %v, robfig %v", tz, spec, at, ours, robfig)
				}
				if robfig.Sub(ours) > 0 && !dstChangeBetween(ours, robfig) {
					t.Fatalf("%s %q from %v: ours %v before robfig %v without a clock change", tz, spec, at, ours, robfig)
				}
			}
		}
	}
}

// dstChangeBetween reports whether the clocks change between a few hours
// before a (a day) and b.
func dstChangeBetween(a, b time.Time) bool {
	_, end := a.Add(-24 * time.Hour).ZoneBounds()
	return !end.IsZero() && !end.After(b)
}
