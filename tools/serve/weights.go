package main

import (
	"fmt"
	"io"
	"net/http"

	"github.com/crema-app/crema/model/transfer"
	"github.com/crema-app/crema/tools/internal/getweights"
)

// fetchWeights is `make run`'s first step: it makes weightsDir hold the
// weights and the page's pack (downloading them when they are absent, as
// `make weights` does) and returns "" when they are there, else the
// explanation that both the terminal and the page show.
func fetchWeights(weightsDir string, sources []getweights.Source, client *http.Client, log io.Writer) string {
	_, err := getweights.Ensure(getweights.Options{Dir: weightsDir, Sources: sources, PackUpTo: transfer.PageDeepest(), Client: client, Log: log})
	if err == nil {
		return ""
	}
	return noWeights(weightsDir, err)
}

// noWeights is the one explanation of missing weights: what failed, and the
// two ways to get them.
func noWeights(weightsDir string, err error) string {
	return fmt.Sprintf("crema has no network weights in %s: %v. The page runs once they are there: "+
		"run `make run` again (or `make weights`) when the network allows the download, "+
		"or convert weights you have with `go run ./tools/convert -o %s SOURCE` and restart.", weightsDir, err, weightsDir)
}
