package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestRetryJob: each create loses its answer and its lookup, the job
// stays pending, and the restarted process's retry with ContinuesFrom
// finds the object; plain retries say reused id, same money; the fake
// holds one charge and one refund.
func TestRetryJob(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out), out.String())
	got := out.String()
	assert.Equal(t, 2, strings.Count(got, "outcome unknown, the job stays pending"), got)
	assert.Contains(t, got, "charge order-1001: done, ch_0000000001 found: an earlier attempt of this call created it")
	assert.Contains(t, got, "refund refund-1001: done, re_0000000001 found: an earlier attempt of this call created it")
	assert.Contains(t, got, "charge order-1001 without ContinuesFrom: reused id, same money: true")
	assert.Contains(t, got, "refund refund-1001 without ContinuesFrom: reused id, same money: true")
	assert.NotContains(t, got, "new merchant id")
	assert.NotContains(t, got, "failed")
	assert.Contains(t, got, "The gateway holds 1 charge under order-1001 and 1 refund of it (¥19.99 refunded).")
}
