package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	_ "time/tzdata" // --tz works on machines without a zoneinfo database

	"github.com/justap-go/justap"
	"golang.org/x/term"
)

// Exit codes, as "justap help" documents them.
const (
	exitOK      = 0 // done
	exitFailure = 1 // any other failure: a read that failed, a local error
	exitUsage   = 2 // bad command line, bad input, or confirmation refused
	exitRefused = 3 // the API refused: nothing was done
	exitUnknown = 4 // money may or may not have moved: check with the printed command
)

const helpText = `justap: Justap charges and refunds from the command line.

Usage:
  justap charges get ID                 show a charge
  justap charges find ORDER             show the charge of a merchant trade id (your order number)
  justap charges list [flags]           list charges, newest first
      --since T --until T               created from T (inclusive) until T (exclusive)
      --created-gt T --created-lte T    created after T, up to T (inclusive)
      --paid | --unpaid, --refunded | --not-refunded, --reversed | --not-reversed,
      --closed | --not-closed, --expired | --not-expired
      --channel C --order ORDER         filters
      --starting-after ID | --ending-before ID
      --limit N                         stop after N charges in all (default: every charge)
      --page-size N                     charges per request, 1-100 (default 100)
  justap charges reverse ID             cancel an unpaid charge (asks to confirm)
  justap refunds create --charge ID (--amount 5.00 | --full) --description TEXT [--merchant-refund-id ID]
                                        refund a paid charge (asks to confirm); without
                                        --merchant-refund-id one is made up and printed; the
                                        same command again never refunds twice (exit 0 if that
                                        refund was made before for the same money, with --full
                                        for the whole rest; 3 if the id names other money)
  justap refunds get CHARGE REFUND      show a refund
  justap refunds list CHARGE            list a charge's refunds
  justap reconcile --since T --until T [--lookback-days N]
                                        per day and channel: charges received, refunds, fees
                                        and net, in exact money; refunds are found through the
                                        charges created from --since minus N days (default 0)
  justap help                           this text
  justap version                        the tool's and the SDK's version

Times (T) are dates (2026-01-01, midnight) or RFC 3339 times, read in --tz.
Amounts are yuan with at most two decimals (5, 5.00, 0.01), read exactly.

Flags of every command (they may come before or after the arguments):
  -o, --output FORMAT    table (default), json (one object per line, the API's own JSON) or csv
  --api-key KEY          the API key (default $JUSTAP_API_KEY); never printed
  --base-url URL         the gateway (default $JUSTAP_BASE_URL, else ` + justap.DefaultBaseURL + `;
                         Justap's hosted service is ` + justap.HostedBaseURL + `)
  --app-id ID            the app (default $JUSTAP_APP_ID)
  --tz ZONE              time zone of dates and days (default $JUSTAP_TZ, else Asia/Shanghai)
  -y, --yes              do not ask before moving or stopping money
  --progress WHEN        progress of long walks on stderr: auto (when stderr is a terminal),
                         always or never (default $JUSTAP_PROGRESS, else auto)
  -v, --verbose          log every request on stderr (method, path, status, request id; never the key)

Exit codes:
  0  done
  1  failed (a read that failed, a network or local error)
  2  usage: a bad command line or bad input (nothing was sent), or not confirmed
  3  refused by the API: nothing was done (the error says why, with its request id)
  4  outcome unknown: money may have moved; the message gives the exact command to check
`

// usageError is a bad command line, bad input, or an action not
// confirmed: exit code 2.
type usageError struct {
	msg        string
	notConfirm bool // not a mistake in the command line: no pointer to the help
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

func notConfirmedf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), notConfirm: true}
}

// unknownError is a call that may have moved money without the tool
// learning whether it did: exit code 4. check is the command that tells.
type unknownError struct {
	err   error
	check string
}

func (e *unknownError) Error() string {
	return fmt.Sprintf("%v\nthe outcome is unknown: money may have moved. Check with:\n  %s", e.err, e.check)
}

func (e *unknownError) Unwrap() error { return e.err }

// app holds what one run of the tool works with.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// isTerminal reports whether a stream (stdin or stderr) is a terminal.
	isTerminal func(any) bool

	// global flags
	output   string
	apiKey   string
	baseURL  string
	appID    string
	tzName   string
	yes      bool
	progress string
	verbose  bool

	tz *time.Location
	// requests counts the responses received, for the progress line.
	requests *countingTransport
}

// run runs the tool with args (without the program name) and returns the
// exit code. main calls it with the process's streams and environment;
// tests call it with their own.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, isTerminal: isTerminal}
	return a.exit(a.dispatch(args))
}

func isTerminal(v any) bool {
	f, ok := v.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// exit prints err for a person and maps it to an exit code.
func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintln(a.stderr, "justap:", clean(strings.TrimPrefix(err.Error(), "justap: ")))
	var ue *usageError
	var ve *justap.ValidationError
	var unk *unknownError
	var apiErr *justap.Error
	switch {
	case errors.As(err, &ue):
		if !ue.notConfirm {
			fmt.Fprintln(a.stderr, `Run "justap help" for usage.`)
		}
		return exitUsage
	case errors.As(err, &ve):
		return exitUsage
	case errors.As(err, &unk), errors.As(err, &apiErr) && apiErr.OutcomeUnknown():
		return exitUnknown
	case errors.Is(err, justap.ErrReusedID), errors.Is(err, justap.ErrNotFound),
		errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500:
		return exitRefused
	}
	return exitFailure
}

// outcomeUnknown reports whether err, from a call that moves or stops
// money, leaves it open whether the call took effect (see
// [justap.Error.OutcomeUnknown]).
func outcomeUnknown(err error) bool {
	var e *justap.Error
	return errors.As(err, &e) && e.OutcomeUnknown()
}

func (a *app) dispatch(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, helpText)
		return usagef("no command given")
	}
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 {
		sub = rest[0]
	}
	switch cmd {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(a.stdout, helpText)
		return nil
	case "version", "--version":
		fmt.Fprintf(a.stdout, "justap (SDK github.com/justap-go/justap %s)\n", justap.Version)
		return nil
	case "charges":
		switch sub {
		case "get":
			return a.chargesGet(rest[1:])
		case "find":
			return a.chargesFind(rest[1:])
		case "list":
			return a.chargesList(rest[1:])
		case "reverse":
			return a.chargesReverse(rest[1:])
		}
		return usagef("charges: want get, find, list or reverse, not %q", sub)
	case "refunds":
		switch sub {
		case "create":
			return a.refundsCreate(rest[1:])
		case "get":
			return a.refundsGet(rest[1:])
		case "list":
			return a.refundsList(rest[1:])
		}
		return usagef("refunds: want create, get or list, not %q", sub)
	case "reconcile":
		return a.reconcile(args[1:])
	}
	return usagef("unknown command %q", cmd)
}

// flags returns a flag set for the command name with the global flags
// registered on it.
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("justap "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed once, by exit
	env := func(k, def string) string {
		if v := a.getenv(k); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&a.output, "o", "table", "output: table, json or csv")
	fs.StringVar(&a.output, "output", "table", "output: table, json or csv")
	fs.StringVar(&a.apiKey, "api-key", a.getenv("JUSTAP_API_KEY"), "API key")
	fs.StringVar(&a.baseURL, "base-url", env("JUSTAP_BASE_URL", justap.DefaultBaseURL), "gateway URL")
	fs.StringVar(&a.appID, "app-id", a.getenv("JUSTAP_APP_ID"), "app id")
	fs.StringVar(&a.tzName, "tz", env("JUSTAP_TZ", "Asia/Shanghai"), "time zone")
	fs.BoolVar(&a.yes, "y", false, "do not ask for confirmation")
	fs.BoolVar(&a.yes, "yes", false, "do not ask for confirmation")
	fs.StringVar(&a.progress, "progress", env("JUSTAP_PROGRESS", "auto"), "auto, always or never")
	fs.BoolVar(&a.verbose, "v", false, "log every request")
	fs.BoolVar(&a.verbose, "verbose", false, "log every request")
	return fs
}

// parse parses args with fs, allowing flags after the arguments as well as
// before, checks the global flags, and returns the arguments. It wants
// exactly nargs arguments.
func (a *app) parse(fs *flag.FlagSet, args []string, nargs int, names string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(a.stdout, helpText)
				return nil, err
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		args = rest
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != nargs {
		if nargs == 0 {
			return nil, usagef("%s takes no arguments, got %q", fs.Name(), pos)
		}
		return nil, usagef("%s wants %s", fs.Name(), names)
	}
	switch a.output {
	case "table", "json", "csv":
	default:
		return nil, usagef("-o %q: want table, json or csv", a.output)
	}
	switch a.progress {
	case "auto", "always", "never":
	default:
		return nil, usagef("--progress %q: want auto, always or never", a.progress)
	}
	tz, err := time.LoadLocation(a.tzName)
	if err != nil {
		return nil, usagef("--tz %q: not a time zone (want a name such as Asia/Shanghai, UTC or Local)", a.tzName)
	}
	a.tz = tz
	for _, p := range pos {
		if p == "" {
			return nil, usagef("%s: an empty argument", fs.Name())
		}
	}
	return pos, nil
}

// client returns a client configured from the flags and the environment.
func (a *app) client() (*justap.Client, error) {
	if a.apiKey == "" {
		return nil, usagef("no API key: set JUSTAP_API_KEY or pass --api-key")
	}
	a.requests = &countingTransport{next: http.DefaultTransport}
	opts := []justap.Option{
		justap.WithBaseURL(a.baseURL),
		justap.WithUserAgent("justap-cli/" + justap.Version),
		justap.WithHTTPClient(&http.Client{Transport: a.requests}),
	}
	if a.appID != "" {
		opts = append(opts, justap.WithAppID(a.appID))
	}
	if a.verbose {
		opts = append(opts, justap.WithLogger(slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	c, err := justap.NewClient(a.apiKey, opts...)
	if err != nil {
		// NewClient's errors name the option, never the key.
		return nil, usagef("%v", err)
	}
	return c, nil
}

// confirm asks the person at the terminal to confirm what, unless --yes.
// Without --yes and with stdin not a terminal it refuses: a script must
// say --yes to move money.
func (a *app) confirm(what string) error {
	if a.yes {
		return nil
	}
	if !a.isTerminal(a.stdin) {
		return notConfirmedf("%s\nnot confirmed: stdin is not a terminal; pass --yes to do it without asking", what)
	}
	fmt.Fprintf(a.stderr, "%s\nProceed? [y/N] ", clean(what))
	line, err := readLine(a.ctx, a.stdin)
	if err != nil {
		return err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return notConfirmedf("not confirmed: nothing was done")
}

// readLine reads one line from r, byte by byte so that nothing after it
// is consumed, and gives up when ctx ends (Ctrl-C at the prompt).
func readLine(ctx context.Context, r io.Reader) (string, error) {
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		var b []byte
		var c [1]byte
		for len(b) < 1024 {
			n, err := r.Read(c[:])
			if n == 1 {
				if c[0] == '\n' {
					break
				}
				b = append(b, c[0])
			}
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				done <- result{string(b), err}
				return
			}
		}
		done <- result{string(b), nil}
	}()
	select {
	case res := <-done:
		return res.s, res.err
	case <-ctx.Done():
		return "", notConfirmedf("not confirmed (%v): nothing was done", context.Cause(ctx))
	}
}

// countingTransport counts the successful responses of a walk: its pages.
type countingTransport struct {
	next  http.RoundTripper
	pages atomic.Int64
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode/100 == 2 {
		t.pages.Add(1)
	}
	return resp, err
}

// parseTime reads a date (midnight in tz) or an RFC 3339 time.
func parseTime(flagName, s string, tz *time.Location) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, tz); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, tz); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--%s %q: want a date (2026-01-31) or an RFC 3339 time (2026-01-31T08:00:00+08:00)", flagName, s)
}
