package gdsvault

import (
	"context"
	"net/http"
	"net/url"
)

// Health is Vault's sys/health answer.
type Health struct {
	Initialized bool   `json:"initialized"`
	Sealed      bool   `json:"sealed"`
	Standby     bool   `json:"standby"`
	Version     string `json:"version"`
	ClusterName string `json:"cluster_name"`
	ServerTime  int64  `json:"server_time_utc"`
}

// Health asks Vault for its state (no token needed). A sealed or
// uninitialised Vault is an answer, not an error: check the fields.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	// Ask for 200 whatever the state, so that the body is always decoded.
	q := url.Values{"standbyok": {"true"}, "perfstandbyok": {"true"}, "sealedcode": {"200"}, "uninitcode": {"200"},
		"drsecondarycode": {"200"}, "performancestandbycode": {"200"}}
	var h Health
	if err := c.do(ctx, &request{method: http.MethodGet, path: "sys/health", query: q, noToken: true}, &h); err != nil {
		return nil, err
	}
	return &h, nil
}
