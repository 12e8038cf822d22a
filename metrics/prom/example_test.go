package prom_test

import (
	"context"
	"log"
	"net/http"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/metrics/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// One collector, attached with one option and registered once; /metrics
// serves it.
func ExampleNewCollector() {
	col, err := prom.NewCollector()
	if err != nil {
		log.Fatal(err)
	}
	client, err := gdsvault.New(gdsvault.WithAddress("https://vault.example.com:8200"),
		gdsvault.WithToken("..."), gdsvault.WithCache(), gdsvault.WithObserver(col))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close(context.Background())

	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}

// Two clients, one collector each, told apart by the client label.
func ExampleWithClientName() {
	reg := prometheus.NewRegistry()
	for _, name := range []string{"payments", "billing"} {
		col, err := prom.NewCollector(prom.WithClientName(name))
		if err != nil {
			log.Fatal(err)
		}
		reg.MustRegister(col)
		if _, err := gdsvault.New(gdsvault.WithAddress("https://vault.example.com:8200"), gdsvault.WithObserver(col)); err != nil {
			log.Fatal(err)
		}
	}
}
