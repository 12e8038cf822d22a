package secretcache

import (
	"testing"
	_ "time/tzdata" // the zone tests must not depend on the machine's zoneinfo

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
