package secretcache

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Hints are what the cache needs to know about a value to decide how long it
// may live. The zero Hints mean "only the TTL applies".
type Hints struct {
	// LeaseTTL > 0 marks a leased secret (a dynamic credential). It stays
	// fresh for max(LeaseTTL - lease margin, LeaseTTL/2) and is never served
	// stale after LeaseTTL, when its lease has ended.
	LeaseTTL time.Duration

	// RotationSchedule is a cron expression of 5 fields, optionally prefixed
	// with "CRON_TZ=Area/City " (or "TZ=Area/City "), or a descriptor such as
	// "@daily" or "@every 24h" (for example KV v2
	// custom_metadata["rotation_schedule"]). The value stops being fresh
	// RotationBuffer before the next rotation and is never served stale
	// after it. An expression that does not parse is ignored (the TTL still
	// applies) and logged once at Warn; it never fails a read.
	//
	// Cron implementations disagree on days the clocks change: when the
	// clocks jump forward over the scheduled time, robfig/cron (and
	// Kubernetes) skip that day's run while Vixie cron runs it right after
	// the jump; when they fall back, some run a job in the repeated hour
	// twice. The cache takes the earliest instant any of them would rotate,
	// so it never holds a value across a rotation whichever one the rotator
	// uses.
	RotationSchedule string

	// TimeZone is the IANA zone (for example
	// custom_metadata["rotation_timezone"]) the schedule's times are in when
	// RotationSchedule has no CRON_TZ= prefix. Empty means UTC (never the
	// machine's local zone). An unknown zone is handled like a bad schedule.
	TimeZone string

	// LastRotation is when the secret last rotated (for example
	// custom_metadata["last_rotation"], RFC 3339), zero if unknown.
	//
	// With it, the next rotation is the first scheduled time after
	// LastRotation rather than after the fetch. That is what makes
	// "@every 720h" schedules work at all (their next run counts from the
	// last one), and it detects a rotation that is due but not done yet: if
	// a scheduled time has passed since LastRotation, the value in hand is
	// the old one and will change any moment, so it is not cached for
	// RotationBuffer after that scheduled time (it is still returned and
	// may serve as a stale fallback). Past that grace the rotator is taken
	// to be late or not to maintain LastRotation, and the schedule is read
	// from the fetch time as if LastRotation were unknown, so a stale
	// last_rotation never disables caching for good. A LastRotation after
	// the fetch time (clock skew) means the rotation is done: scheduled
	// times before it are skipped.
	//
	// Without LastRotation, a rotation that happens late is seen at most one
	// TTL after it happens.
	LastRotation time.Time

	// NextRotationIn > 0 is the time until the next rotation of a database
	// static role: its response's "ttl" (the role's rotation_period minus
	// the time since last_vault_rotation). The value stops being fresh
	// RotationBuffer before fetch time + NextRotationIn and is never served
	// stale after it, when the old password stops working.
	NextRotationIn time.Duration
}

// lifetime says how long a value fetched at fetched may live.
type lifetime struct {
	// life is how long the value is fresh; <= 0: never.
	life time.Duration
	// hardEnd is when the value stops working (its lease ends, it rotates);
	// it is never served, even stale, from then on. Zero: no such instant.
	hardEnd time.Time
	// scheduleErr is set when the rotation schedule or its time zone could
	// not be used; the rotation bound was then ignored.
	scheduleErr error
}

// computeLifetime is the pure expiry maths: a value fetched at fetched, read
// with TTL ttl, described by h.
func computeLifetime(fetched time.Time, ttl time.Duration, h Hints, leaseMargin, rotationBuffer time.Duration) lifetime {
	lt := lifetime{life: ttl}
	bound := func(life time.Duration, end time.Time) {
		lt.life = min(lt.life, life)
		if !end.IsZero() && (lt.hardEnd.IsZero() || end.Before(lt.hardEnd)) {
			lt.hardEnd = end
		}
	}
	if h.LeaseTTL > 0 {
		bound(max(h.LeaseTTL-leaseMargin, h.LeaseTTL/2), fetched.Add(h.LeaseTTL))
	}
	if h.NextRotationIn > 0 {
		bound(h.NextRotationIn-rotationBuffer, fetched.Add(h.NextRotationIn))
	}
	if h.RotationSchedule != "" {
		sched, err := parseSchedule(h.RotationSchedule, h.TimeZone)
		if err != nil {
			lt.scheduleErr = err
			return lt
		}
		next, overdue := nextRotation(sched, fetched, h.LastRotation, rotationBuffer)
		switch {
		case overdue:
			// Due but not done: the old value, about to change. Its end is
			// unknown, so no hard end; not fresh.
			bound(0, time.Time{})
		case next.IsZero():
			// The schedule never fires again (e.g. "0 0 30 2 *").
		default:
			bound(next.Sub(fetched)-rotationBuffer, next)
		}
	}
	return lt
}

// parseSchedule parses a rotation schedule in the standard cron syntax with
// tz (default UTC) when spec has no time-zone prefix of its own.
func parseSchedule(spec, tz string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	if !strings.HasPrefix(spec, "CRON_TZ=") && !strings.HasPrefix(spec, "TZ=") {
		if tz == "" {
			tz = "UTC"
		}
		// robfig/cron reads a schedule without a zone in the zone of the
		// time it is given (time.Now: the machine's zone); always name one.
		spec = "CRON_TZ=" + tz + " " + spec
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("rotation schedule %q: %w", spec, err)
	}
	return s, nil
}

// nextRotation returns the next rotation after fetched, or overdue when a
// scheduled time passed since lastRotation less than grace ago.
func nextRotation(s cron.Schedule, fetched, lastRotation time.Time, grace time.Duration) (next time.Time, overdue bool) {
	if !lastRotation.IsZero() {
		due := scheduleNext(s, lastRotation)
		switch {
		case due.IsZero():
			return due, false
		case due.After(fetched):
			return due, false
		case fetched.Before(due.Add(grace)):
			return time.Time{}, true
		}
		// The rotator is late by more than grace, or does not keep
		// last_rotation up to date: fall back on the fetch time.
	}
	return scheduleNext(s, fetched), false
}

// scheduleNext is the earliest of the times at which the cron
// implementations in use would next fire after t: robfig/cron's own answer,
// and, for field schedules, the answer of a wall-clock cron that runs a job
// whose time was skipped by a jump forward right after the jump.
func scheduleNext(s cron.Schedule, t time.Time) time.Time {
	next := s.Next(t)
	spec, ok := s.(*cron.SpecSchedule)
	if !ok || spec.Location == nil || spec.Location == time.UTC {
		return next
	}
	if wall := wallClockNext(spec, t); !wall.IsZero() && (next.IsZero() || wall.Before(next)) {
		return wall
	}
	return next
}

// wallClockNext evaluates spec on the wall clock of its zone, where every
// day has every time: it runs the schedule in UTC on t's local wall time,
// then maps the result back to the zone. A wall time that does not exist
// (skipped by a jump forward) maps to the instant of the jump, when Vixie
// cron runs the jobs it skipped.
func wallClockNext(spec *cron.SpecSchedule, t time.Time) time.Time {
	loc := spec.Location
	naive := *spec
	naive.Location = time.UTC
	w := asUTCWall(t.In(loc))
	for range 4 {
		w = naive.Next(w)
		if w.IsZero() {
			return w
		}
		at := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
		if aw := asUTCWall(at); !aw.Equal(w) {
			// w does not exist in loc, and time.Date moved it to one side
			// of the jump (which side is unspecified): take the jump.
			start, end := at.ZoneBounds()
			if aw.Before(w) {
				at = end
			} else {
				at = start
			}
		}
		if at.After(t) {
			return at
		}
		// A time in a repeated hour maps to its first occurrence, which may
		// be behind t: try the next scheduled wall time.
	}
	return time.Time{}
}

func asUTCWall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}
