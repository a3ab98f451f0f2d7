module github.com/crema-app/crema

go 1.26.8
