package prom_test

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/metrics/prom"
	"github.com/gdsvault/gdsvault/vaulttest"
	"github.com/prometheus/client_golang/prometheus"
)

// TestNodesOfAClusterClient: a client given two addresses, the first of
// which answers nothing, fails over to the real Vault: the move is counted,
// node_current follows the client, node_up shows the dead node down, and
// the node label takes the two configured addresses only.
func TestNodesOfAClusterClient(t *testing.T) {
	vault.Require(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused

	col, err := prom.NewCollector()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	c, err := gdsvault.New(gdsvault.WithAddresses(dead, vault.Addr), gdsvault.WithToken(vault.RootToken),
		gdsvault.WithLogger(slog.New(slog.DiscardHandler)), gdsvault.WithObserver(col))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	got := series(t, reg)
	compareSeries(t, filter(got, "gdsvault_node"), map[string]float64{
		"gdsvault_node_changes_total{}":                  0,
		"gdsvault_node_current{node=" + dead + "}":       1,
		"gdsvault_node_current{node=" + vault.Addr + "}": 0,
		"gdsvault_node_up{node=" + dead + "}":            1, // not seen failing yet
		"gdsvault_node_up{node=" + vault.Addr + "}":      1,
	})

	ctx := vaulttest.Context(t)
	if _, err := c.Health(ctx); err != nil {
		t.Fatal(err)
	}
	// The move may come from the request or from the background search for
	// the active node: poll until the client is on the live node.
	for c.Address() != vault.Addr {
		select {
		case <-ctx.Done():
			t.Fatalf("the client stayed on %s", c.Address())
		case <-time.After(20 * time.Millisecond):
		}
	}
	got = series(t, reg)
	if got["gdsvault_node_changes_total{}"] < 1 || got["gdsvault_node_current{node="+vault.Addr+"}"] != 1 ||
		got["gdsvault_node_current{node="+dead+"}"] != 0 || got["gdsvault_node_up{node="+vault.Addr+"}"] != 1 ||
		got["gdsvault_node_up{node="+dead+"}"] != 0 {
		t.Errorf("after the failover: %v", filter(got, "gdsvault_node"))
	}
	if n := len(filter(got, "gdsvault_node_current")); n != 2 {
		t.Errorf("%d node_current series, want the 2 configured nodes", n)
	}
}
