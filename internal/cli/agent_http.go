package cli

import (
	"encoding/json"
	"net/http"
	"time"
)

// The agent's HTTP endpoints, on the -listen address.

type route struct {
	pattern string
	handler http.Handler
}

// routes lists the endpoints: /healthz, and /metrics when the binary
// provides a collector (cli.WithMetrics).
func (a *agent) routes() []route {
	rs := []route{{"GET /healthz", http.HandlerFunc(a.healthz)}}
	if a.metrics != nil {
		rs = append(rs, route{"GET /metrics", a.metrics})
	}
	return rs
}

func (a *agent) mux() *http.ServeMux {
	m := http.NewServeMux()
	for _, r := range a.routes() {
		m.Handle(r.pattern, r.handler)
	}
	return m
}

// agentHealth is /healthz's answer. It names files, paths and states,
// never a token or a secret value.
type agentHealth struct {
	// Status is ok (everything fresh), stale (Vault cannot be reached: the
	// files keep the last good values), error (a template cannot be
	// rendered) or starting.
	Status     string           `json:"status"`
	StaleSince *time.Time       `json:"stale_since,omitempty"`
	Token      tokenHealth      `json:"token"`
	Templates  []templateStatus `json:"templates"`
}

type tokenHealth struct {
	Method    string    `json:"method"`
	TTL       string    `json:"ttl"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	Error     string    `json:"error,omitempty"`
}

func (a *agent) health() agentHealth {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := agentHealth{Status: "ok", Templates: append([]templateStatus(nil), a.status...),
		Token: tokenHealth{Method: a.method.Method, TTL: a.tokenTTL.String(), UpdatedAt: a.tokenAt, Error: a.tokenErr}}
	if a.stale {
		h.Status = "stale"
		since := a.staleFrom
		h.StaleSince = &since
	}
	for _, t := range a.status {
		if t.Error != "" {
			h.Status = "error"
		}
	}
	if !a.rendered {
		h.Status = "starting"
	}
	return h
}

// healthz answers 200 while the files hold good renders (fresh or
// stale), 503 otherwise.
func (a *agent) healthz(w http.ResponseWriter, _ *http.Request) {
	h := a.health()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if h.Status != "ok" && h.Status != "stale" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(h)
}
