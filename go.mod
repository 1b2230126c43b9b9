module github.com/justap-go/justap

go 1.24
