module github.com/justap-go/justap/cmd/justap

go 1.24.0

require (
	github.com/creack/pty v1.1.24
	github.com/justap-go/justap v0.0.0
	golang.org/x/term v0.38.0
)

require golang.org/x/sys v0.39.0 // indirect

replace github.com/justap-go/justap => ../..
