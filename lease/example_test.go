package lease_test

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/gdsvault/gdsvault"
	"github.com/gdsvault/gdsvault/lease"
)

// Dynamic database credentials kept alive for a connection pool: the lease
// is renewed, new credentials are read before the max TTL, the pool is told
// (new connections use the new credentials, old ones keep working until the
// old lease is revoked after the grace period), and Close revokes all.
func ExampleWatch() {
	ctx := context.Background()
	client, err := gdsvault.New(gdsvault.WithAddress("https://vault.example.com:8200") /* , gdsvault.WithAuth(...) */)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close(ctx)
	var current atomic.Pointer[gdsvault.Secret]
	m, err := lease.Watch(ctx, client, "database/creds/app",
		lease.OnRotate(func(r lease.Rotation) {
			current.Store(r.New) // e.g. pool.Reset(): new connections take the new user
		}))
	if err != nil {
		fmt.Println("no credentials:", err)
		return
	}
	defer m.Close(ctx)
	current.Store(m.Current())
	user := current.Load().Data["username"] // never printed with its password: SecretData redacts
	_ = user
}
