// Command build bundles the front-end sources under web/ into static/ with esbuild's
// Go API, so `go run` and CI need no Node. Run it with `make assets` and commit the
// output: the binary embeds static/ as it is.
package main

import (
	"fmt"
	"os"

	"github.com/evanw/esbuild/pkg/api"
)

func main() {
	res := api.Build(api.BuildOptions{
		// Each entry names its output under static/ (without the extension).
		EntryPointsAdvanced: []api.EntryPoint{
			{InputPath: "web/styles/portico.css", OutputPath: "css/portico"},
			{InputPath: "web/publisher/publisher.css", OutputPath: "publisher/publisher"},
			{InputPath: "web/publisher/editor.js", OutputPath: "publisher/editor"},
			{InputPath: "web/portal/portal.css", OutputPath: "portal/portal"},
			{InputPath: "web/portal/portal.js", OutputPath: "portal/portal"},
			{InputPath: "web/portal/tryit.js", OutputPath: "portal/tryit"},
			{InputPath: "web/analytics/dashboard.js", OutputPath: "analytics/dashboard"},
			{InputPath: "web/analytics/dashboard.css", OutputPath: "analytics/dashboard"},
		},
		Outdir:   "static",
		Bundle:   true,
		Write:    true,
		LogLevel: api.LogLevelWarning,
		// Keep it readable enough to debug in a browser; it is small either way.
		MinifyWhitespace: true,
		Target:           api.ES2020,
	})
	if len(res.Errors) > 0 {
		for _, e := range res.Errors {
			fmt.Fprintln(os.Stderr, e.Text)
		}
		os.Exit(1)
	}
	for _, f := range res.OutputFiles {
		fmt.Printf("wrote %s (%d bytes)\n", f.Path, len(f.Contents))
	}
}
