module github.com/crema-app/crema

go 1.26.8

require (
	github.com/nlpodyssey/gopickle v0.2.0
	github.com/tetratelabs/wazero v1.12.0
	golang.org/x/image v0.48.0
	gonum.org/v1/gonum v0.17.0
)

require golang.org/x/sys v0.50.0 // indirect
