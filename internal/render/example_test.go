package render_test

import (
	"context"
	"fmt"

	"github.com/gdsvault/gdsvault/internal/render"
)

func Example() {
	tp, err := render.Parse("app.tmpl", `user={{ secret "database/creds/app" "username" }}
{{ range $k, $v := secretMap "secret/app" }}{{ $k }}={{ $v }}
{{ end }}`)
	if err != nil {
		panic(err)
	}
	src := render.SourceFunc(func(_ context.Context, path string) (map[string]any, error) {
		return map[string]map[string]any{
			"database/creds/app": {"username": "v-app-1", "password": "p"},
			"secret/app":         {"host": "db", "port": 5432},
		}[path], nil
	})
	out, paths, err := tp.Execute(context.Background(), src)
	fmt.Print(string(out))
	fmt.Println(paths, err)
	// Output:
	// user=v-app-1
	// host=db
	// port=5432
	// [database/creds/app secret/app] <nil>
}
