package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/justap-go/justap"
	"github.com/justap-go/justap/justaptest"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the tool and cmd/justap-mock once per test run and
// returns their paths.
func binaries(t *testing.T) (tool, mock string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds binaries; skipped with -short")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "justap-cli-test")
		if buildErr != nil {
			return
		}
		for _, b := range [][]string{
			{"build", "-o", filepath.Join(binDir, "justap"), "."},
			{"build", "-C", "../..", "-o", filepath.Join(binDir, "justap-mock"), "./cmd/justap-mock"},
		} {
			if out, err := exec.Command("go", b...).CombinedOutput(); err != nil {
				buildErr = errors.New("go " + strings.Join(b, " ") + ": " + err.Error() + "\n" + string(out))
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "justap"), filepath.Join(binDir, "justap-mock")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// mock starts cmd/justap-mock on a free loopback port and returns its URL.
func mock(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command(path, "-addr", "127.0.0.1:0", "-api-key", testKey)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("justap-mock: %v", err)
	}
	base := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(line)
	if base == "" {
		t.Fatalf("justap-mock printed no address: %q", line)
	}
	go io.Copy(io.Discard, out)
	return base
}

// mockWithCharges starts the mock with n charges, every other one paid,
// and returns its URL.
func mockWithCharges(t *testing.T, n int) string {
	t.Helper()
	_, mockBin := binaries(t)
	base := mock(t, mockBin)
	c, err := justap.NewClient(testKey, justap.WithBaseURL(base), justap.WithAppID(justaptest.DefaultAppID))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ch, err := c.Charges.Create(context.Background(), &justap.ChargeCreateParams{
			MerchantTradeID: "order-" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Amount: justap.Amount(100 + i),
			Channel: justap.ChannelAlipayQR, Subject: "s", Body: "b", ClientIP: "203.0.113.7",
		})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			resp, err := http.Post(base+"/justaptest/charges/"+ch.ID+"/pay", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	return base
}

// tool returns a command running the built tool against base.
func tool(t *testing.T, base string, args ...string) *exec.Cmd {
	t.Helper()
	bin, _ := binaries(t)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "JUSTAP_API_KEY="+testKey, "JUSTAP_BASE_URL="+base,
		"JUSTAP_APP_ID="+justaptest.DefaultAppID, "JUSTAP_PROGRESS=")
	return cmd
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// checkCSV fails unless out is the CSV of n charges and nothing else.
func checkCSV(t *testing.T, out []byte, n int) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
	if err != nil || len(recs) != n+1 || recs[0][0] != "charge_id" {
		t.Fatalf("stdout is not the clean CSV of %d charges (%v):\n%s", n, err, out)
	}
	for _, rec := range recs[1:] {
		if !strings.HasPrefix(rec[0], "ch_") {
			t.Fatalf("not a charge row: %q", rec)
		}
	}
}

// TestBinaryProgressForced runs the README's command, built, against
// justap-mock with progress forced on: progress goes to stderr only and
// stdout stays clean CSV.
func TestBinaryProgressForced(t *testing.T) {
	base := mockWithCharges(t, 250)
	cmd := tool(t, base, "charges", "list", "--since", "2026-01-01", "-o", "csv")
	cmd.Env = append(cmd.Env, "JUSTAP_PROGRESS=always")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	checkCSV(t, stdout.Bytes(), 250)
	if !strings.Contains(stderr.String(), "250 charges, 3 pages, ") {
		t.Errorf("stderr has no final progress: %q", stderr.String())
	}

	// Piped and not forced: silent.
	cmd = tool(t, base, "charges", "list", "--since", "2026-01-01", "-o", "csv")
	stdout.Reset()
	stderr.Reset()
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if code := exitCode(t, cmd.Run()); code != 0 || stderr.Len() != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	checkCSV(t, stdout.Bytes(), 250)
}

// TestBinaryPTY runs the built tool with stderr on a pseudo-terminal and
// stdout on a pipe, as in "justap charges list -o csv > file": progress
// is drawn on the terminal, and the file is clean CSV.
func TestBinaryPTY(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no pseudo-terminals")
	}
	base := mockWithCharges(t, 120)
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skip("no pseudo-terminal:", err)
	}
	defer ptmx.Close()
	cmd := tool(t, base, "charges", "list", "--since", "2026-01-01", "-o", "csv")
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, tty
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	termOut := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(ptmx) // ends with EIO once the tool exits
		termOut <- b
	}()
	if code := exitCode(t, cmd.Wait()); code != 0 {
		t.Fatalf("exit %d", code)
	}
	checkCSV(t, stdout.Bytes(), 120)
	got := string(<-termOut)
	if !strings.Contains(got, "\r") || !strings.Contains(got, "120 charges, 2 pages, ") {
		t.Errorf("terminal shows no progress: %q", got)
	}
}

// TestBinaryConfirm: the built tool refuses to refund with stdin a pipe
// and no --yes, and refunds when a person types y at a terminal.
func TestBinaryConfirm(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no pseudo-terminals")
	}
	base := mockWithCharges(t, 1)
	args := []string{"refunds", "create", "--charge", "ch_0000000001", "--amount", "0.50", "--description", "test", "-o", "csv"}

	cmd := tool(t, base, args...)
	cmd.Stdin = strings.NewReader("y\n") // a pipe, not a terminal
	out, err := cmd.CombinedOutput()
	if code := exitCode(t, err); code != exitUsage || !strings.Contains(string(out), "--yes") {
		t.Fatalf("exit %d: %s", code, out)
	}

	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skip("no pseudo-terminal:", err)
	}
	defer ptmx.Close()
	cmd = tool(t, base, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	go io.Copy(io.Discard, ptmx) // the terminal's echo
	ptmx.Write([]byte("y\n"))
	if code := exitCode(t, cmd.Wait()); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), ",0.50,refunded,") || !strings.Contains(stderr.String(), "Proceed? [y/N]") {
		t.Errorf("stdout %s\nstderr %s", stdout.String(), stderr.String())
	}
}

// TestBinaryInterrupt: SIGINT (Ctrl-C) stops the built tool while it waits
// on the server.
func TestBinaryInterrupt(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT")
	}
	base := mockWithCharges(t, 1)
	resp, err := http.Post(base+"/justaptest/faults", "application/json",
		strings.NewReader(`{"count": 1, "op": "GET /transaction/v1/charges", "kind": "hang"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cmd := tool(t, base, "charges", "list", "--since", "2026-01-01")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the list request is in flight, held by the fault (so
	// that the signal handler is installed too).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(base + "/justaptest/counts")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), `"GET /transaction/v1/charges":1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the tool sent no list request: %s; stderr %s", b, stderr.String())
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if code := exitCode(t, err); code != exitFailure || !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("Ctrl-C did not stop the tool")
	}
}
