// Package setup holds deps.sh, which `make test` runs first: it installs the
// npm packages and browsers the tests need when they are missing or stale,
// or says in one line how to (see the script's header). This Go package
// exists for its tests, which run the script against stub commands.
package setup
