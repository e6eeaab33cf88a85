module github.com/cachelens/cachelens

go 1.26
