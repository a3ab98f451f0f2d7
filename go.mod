module github.com/crema-app/crema

go 1.26.8

require (
	github.com/nlpodyssey/gopickle v0.2.0
	golang.org/x/image v0.48.0
	gonum.org/v1/gonum v0.17.0
)
