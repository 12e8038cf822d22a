package prom_test

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/gdsvault/gdsvault/vaulttest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// vault is the dev server shared by the tests that do not seal it.
var vault *vaulttest.Server

func TestMain(m *testing.M) { os.Exit(vaulttest.Main(m, vaulttest.Options{}, &vault)) }

// series flattens what g gathers into "name{label=value,...}" -> value,
// labels sorted, the client label left out; a histogram gives its sample
// count as name_count{...}.
func series(t testing.TB, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, lp := range m.GetLabel() {
				if lp.GetName() != "client" {
					labels = append(labels, lp.GetName()+"="+lp.GetValue())
				}
			}
			sort.Strings(labels)
			name, v := mf.GetName(), 0.0
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				name += "_count"
				v = float64(m.GetHistogram().GetSampleCount())
			default:
				t.Fatalf("unexpected metric type %v of %s", mf.GetType(), name)
			}
			out[name+"{"+strings.Join(labels, ",")+"}"] = v
		}
	}
	return out
}

// labelValues returns every label name=value pair g exposes.
func labelValues(t testing.TB, g prometheus.Gatherer) []string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				out = append(out, lp.GetName()+"="+lp.GetValue())
			}
		}
	}
	return out
}
