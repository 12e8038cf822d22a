package main

import (
	"net/http"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/auth"
	awsauth "github.com/gdsvault/gdsvault/auth/aws"
	"github.com/gdsvault/gdsvault/internal/cli"
	"github.com/gdsvault/gdsvault/metrics/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// options plug into the command line what the library keeps out of its own
// module: AWS IAM auth (the AWS SDK's credential chain) and a Prometheus
// collector for `gdsvault agent -listen`'s /metrics.
func options() []cli.Option {
	return []cli.Option{
		cli.WithAuthOptions(auth.WithAWS(awsauth.FromConfig)),
		cli.WithMetrics(metrics),
	}
}

// metrics makes a collector in a registry of its own (the agent's client
// only, no process or Go runtime series) and its /metrics handler.
func metrics() (gdsvault.Observer, http.Handler, error) {
	col, err := prom.NewCollector()
	if err != nil {
		return nil, nil, err
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(col); err != nil {
		return nil, nil, err
	}
	return col, exposition(reg), nil
}

// exposition serves what reg gathers in Prometheus's text format, with
// the ecosystem's encoder (promhttp would link compressors a local scrape
// does not need, and grow every command's start-up).
func exposition(reg prometheus.Gatherer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mfs, err := reg.Gather()
		if err != nil {
			http.Error(w, "gathering metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
		format := expfmt.NewFormat(expfmt.TypeTextPlain)
		w.Header().Set("Content-Type", string(format))
		enc := expfmt.NewEncoder(w, format)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				return
			}
		}
	})
}
