package justap

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Categories of failure, for errors.Is. An *Error matches each category
// that its HTTP status or its server code places it in:
//
//	if errors.Is(err, justap.ErrNotFound) { … }
var (
	// ErrNotFound: the charge or refund does not exist (404, gRPC 5).
	ErrNotFound = errors.New("justap: not found")
	// ErrAuthentication: the API key or the request signature was refused
	// (401, gRPC 16).
	ErrAuthentication = errors.New("justap: authentication failed")
	// ErrPermission: the key may not do this, or not for this app (403, gRPC 7).
	ErrPermission = errors.New("justap: permission denied")
	// ErrInvalidRequest: the server rejected the request's content (400,
	// 422, gRPC 3, 9, 11). Sending it again unchanged will fail again.
	ErrInvalidRequest = errors.New("justap: invalid request")
	// ErrConflict: the object exists already (a merchant_trade_id or
	// merchant_refund_id used before) or its state forbids the operation
	// (409, gRPC 6, 10).
	ErrConflict = errors.New("justap: conflict")
	// ErrRateLimited: too many requests (429, gRPC 8).
	ErrRateLimited = errors.New("justap: rate limited")
	// ErrServer: the server or a proxy in front of it failed, or is
	// unavailable (5xx, gRPC 13, 14, 4). Usually temporary.
	ErrServer = errors.New("justap: server error")
	// ErrNoResponse: no HTTP response arrived (connection refused or reset,
	// timeout, cancelled context). The request may or may not have been
	// processed.
	ErrNoResponse = errors.New("justap: no response")
	// ErrReusedID: a create was refused because its MerchantTradeID or
	// MerchantRefundID already names a charge or refund that this call did
	// not create; this call moved no money. The Error's Charge or Refund
	// field holds that object when it could be read, and
	// [Error.SameMoney] tells the two cases apart: the object is the money
	// asked for, created before this call began (a create that continues
	// an earlier call passes [ContinuesFrom]), or it is other money (the
	// id was used for something else). Such an error matches ErrConflict
	// too.
	ErrReusedID = errors.New("justap: merchant id already used")
	// ErrMalformedResponse: a response arrived but could not be read as the
	// API's JSON (a truncated body, the wrong shape, a body over the size
	// limit, or a success without its object).
	ErrMalformedResponse = errors.New("justap: malformed response")
)

// Error is the error of every call that was sent and failed: the server
// answered with an error status, the answer could not be read, or no answer
// came. Match it with errors.As, and its category with errors.Is and the
// Err… sentinels.
//
// A call that fails validation is never sent; it returns a *ValidationError.
type Error struct {
	Method string // HTTP method of the call
	Path   string // path of the call, below the base URL

	// StatusCode is the HTTP status of the last response, or 0 when no
	// response arrived.
	StatusCode int
	// Code is the server's error code: the gRPC code of a google.rpc.Status
	// body (3 invalid argument, 5 not found, 6 already exists, …), or a
	// numeric error_code. 0 when the body had none.
	Code int
	// Reason is the server's symbolic reason (error_reason, or an
	// error_code that is not a number), when it gave one.
	Reason string
	// Message is the server's message, or a description of what went wrong
	// when the server gave none. The server's text in Message, Reason and
	// RequestID is kept up to 512 bytes; a longer one is cut and ends in
	// "…[cut]".
	Message string
	// RequestID is the response's request id header, for Justap support.
	RequestID string
	// Attempts is how many times the request was sent.
	Attempts int
	// Began is when the call began: the time of [ContinuesFrom] when the
	// call continued an earlier one, else the time it was made. A job that
	// retries a create after an unknown outcome passes
	// ContinuesFrom(e.Began), and needs nothing else to be recognised.
	Began time.Time
	// Body is the start of the response body (at most 4 KiB), as
	// received but for the API key, replaced by "[redacted]" wherever the
	// server echoed it.
	Body []byte
	// Err is the underlying cause when there is one: a transport error, the
	// context's error, or a decoding error.
	Err error

	// Charge is the charge that the merchant_trade_id of a refused
	// [ChargesService.Create] already names (see ErrReusedID), when it
	// could be read; nil otherwise.
	Charge *Charge
	// Refund is the refund that the merchant_refund_id of a refused
	// [RefundsService.Create] already names (see ErrReusedID), when it
	// could be found; nil otherwise.
	Refund *Refund

	// class is ErrNoResponse or ErrMalformedResponse when the failure is
	// one of those without the status saying so (a body cut off mid-way),
	// or ErrNotFound when a lookup by a merchant id found nothing.
	class error
	// notSent is set when the request certainly never reached the server
	// and trying again will fail the same way (a refused TLS certificate).
	notSent bool
	// unknown is set when an attempt may have been processed and no later
	// attempt proved what happened.
	unknown bool
	// reused is set when a create's merchant id names an object this call
	// did not create (ErrReusedID).
	reused bool
	// sameMoney is set on a reused error whose object is the money asked
	// for (Error.SameMoney).
	sameMoney bool
}

// SameMoney reports, for an error matching [ErrReusedID], whether the
// object the merchant id names (the Error's Charge or Refund) is the money
// this create asked for: the same app, amount, channel and currency of a
// charge, the same charge and amount of a refund (for a full refund, the
// whole rest of the charge). Such an object was created before this call
// began (see Began), so this call did not create it: if this create
// continues an earlier one, as a retry after an unknown outcome does, pass
// [ContinuesFrom] with the time that call began, and the create ends in
// the object. Never answer it with a new merchant id: that would move the
// money a second time.
//
// False for other money (the id names a charge or refund for something
// else: do not retry with this id; the Error's message says what differs),
// and for every error that does not match ErrReusedID.
func (e *Error) SameMoney() bool { return e.reused && e.sameMoney }

// lookupNotFound is the error of a lookup by merchant id whose list, read
// at path, has no object with that id. The list answered 200, which Error
// leaves out: it is no news to a person.
func lookupNotFound(path, message string) *Error {
	return &Error{Method: http.MethodGet, Path: path, StatusCode: http.StatusOK, Message: message, Attempts: 1, class: ErrNotFound}
}

// maxErrorBody bounds the bytes of a response body kept in an Error.
const maxErrorBody = 4 << 10

// Error describes the failure, what the server said, and what to try.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("justap: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	switch {
	case e.class == ErrNotFound && e.StatusCode/100 == 2:
		// A lookup that found nothing (lookupNotFound).
	case e.StatusCode != 0:
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		if t := http.StatusText(e.StatusCode); t != "" {
			b.WriteByte(' ')
			b.WriteString(t)
		}
	default:
		b.WriteString(": no response")
	}
	if e.Code != 0 {
		b.WriteString(" (code ")
		b.WriteString(strconv.Itoa(e.Code))
		b.WriteByte(')')
	}
	if e.Reason != "" {
		b.WriteString(" [")
		b.WriteString(e.Reason)
		b.WriteByte(']')
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil && (e.Message == "" || !strings.Contains(e.Message, e.Err.Error())) {
		b.WriteString(": ")
		// A transport error may quote what the server sent, at any length.
		b.WriteString(clipText(e.Err.Error(), maxServerText))
	}
	if e.Attempts > 1 {
		b.WriteString(" (after ")
		b.WriteString(strconv.Itoa(e.Attempts))
		b.WriteString(" attempts)")
	}
	if e.RequestID != "" {
		b.WriteString(" request_id=")
		b.WriteString(e.RequestID)
	}
	if h := e.hint(); h != "" {
		b.WriteString(" — ")
		b.WriteString(h)
	}
	return b.String()
}

// hint says what the caller can do about the failure.
func (e *Error) hint() string {
	switch {
	case e.reused && e.sameMoney:
		return "the object this merchant id names is the money asked for, made by an earlier call; " +
			"if this create continues that call, retry it with justap.ContinuesFrom(the time that call began, " +
			"the Began of its error); asking again under another id would move the money twice"
	case e.reused:
		return "the merchant id was used before, for other money; this call moved no money: " +
			"do not retry with this id (money asked for under a new id is new money)"
	case e.unknown:
		return "an attempt may have been processed, so the outcome is unknown; retrying later with the same " +
			"merchant id is safe (a create resent with it cannot charge or refund twice)"
	case e.Is(ErrAuthentication):
		return "check the API key, and the signing key if requests are signed"
	case e.Is(ErrPermission):
		return "check that the key belongs to this app_id"
	case e.Is(ErrNotFound):
		return "check the id and the app_id"
	case e.Is(ErrConflict):
		return "the merchant id is taken or the object's state forbids this; read the object back before retrying"
	case e.Is(ErrRateLimited):
		return "slow down, or raise WithMaxRetries"
	case e.notSent:
		return ""
	case (e.Is(ErrNoResponse) || e.Is(ErrServer)) && e.isCreate():
		return "the outcome is unknown; retrying is safe (a create resent with the same merchant id cannot charge or refund twice)"
	case e.Is(ErrNoResponse), e.Is(ErrServer):
		return "retrying later is safe"
	case e.StatusCode >= 300 && e.StatusCode < 400:
		return "redirects are not followed (they would carry the API key elsewhere); check the base URL"
	}
	return ""
}

// isCreate reports whether the failed call created a charge or a refund.
func (e *Error) isCreate() bool {
	return e.Method == http.MethodPost &&
		(strings.HasSuffix(e.Path, "/v1/charges") || strings.HasSuffix(e.Path, "/v1/refunds"))
}

// redacted replaces the API key in text that came from the server.
const redacted = "[redacted]"

// redact replaces the API key wherever the server's answer put it.
func (e *Error) redact(key string) {
	if e == nil || key == "" {
		return
	}
	e.Message = redactText(e.Message, key)
	e.Reason = redactText(e.Reason, key)
	e.RequestID = redactText(e.RequestID, key)
	if bytes.Contains(e.Body, []byte(key)) {
		e.Body = bytes.ReplaceAll(e.Body, []byte(key), []byte(redacted))
	}
	if e.Err != nil && strings.Contains(e.Err.Error(), key) {
		// A decoding error quoting the body; its text is all that is kept.
		e.Err = errors.New(redactText(e.Err.Error(), key))
	}
}

// maxServerText bounds each piece of text a server chose (a message, a
// reason, a request id) kept on an Error or written to a log record.
const maxServerText = 512

// cutMark ends text that was cut to maxServerText.
const cutMark = "…[cut]"

// clip bounds the server's text kept on e. Call it after redact: cutting
// first could keep a part of the key that redact would no longer see.
func (e *Error) clip() {
	if e == nil {
		return
	}
	e.Message = clipText(e.Message, maxServerText)
	e.Reason = clipText(e.Reason, maxServerText)
	e.RequestID = clipText(e.RequestID, maxServerText)
}

// clipText cuts s to at most n bytes, at a character boundary, and marks
// the cut.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(cutMark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + cutMark
}

func redactText(s, key string) string {
	if key == "" || !strings.Contains(s, key) {
		return s
	}
	return strings.ReplaceAll(s, key, redacted)
}

// Unwrap returns the underlying cause, so errors.Is(err,
// context.DeadlineExceeded) holds when the deadline ended the call.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether e falls in the category target, one of the Err…
// sentinels of this package.
func (e *Error) Is(target error) bool {
	s, c := e.StatusCode, e.Code
	switch target {
	case ErrNotFound:
		return s == http.StatusNotFound || c == 5 || e.class == ErrNotFound
	case ErrAuthentication:
		return s == http.StatusUnauthorized || c == 16
	case ErrPermission:
		return s == http.StatusForbidden || c == 7
	case ErrInvalidRequest:
		return s == http.StatusBadRequest || s == http.StatusUnprocessableEntity || c == 3 || c == 9 || c == 11
	case ErrConflict:
		return s == http.StatusConflict || c == 6 || c == 10 || e.reused
	case ErrReusedID:
		return e.reused
	case ErrRateLimited:
		return s == http.StatusTooManyRequests || c == 8
	case ErrServer:
		return s >= 500 || c == 13 || c == 14 || c == 4
	case ErrNoResponse:
		return s == 0 || e.class == ErrNoResponse
	case ErrMalformedResponse:
		return e.class == ErrMalformedResponse
	}
	return false
}

// Retryable reports whether sending the same request again later may
// succeed: no response came, the server failed, or the rate limit was hit;
// but not when the request could not be sent at all (a refused TLS
// certificate, an unknown host). The client has already retried such
// failures as configured (see [WithMaxRetries]).
func (e *Error) Retryable() bool {
	return !e.notSent && (e.Is(ErrNoResponse) || e.Is(ErrServer) || e.Is(ErrRateLimited))
}

// OutcomeUnknown reports whether the call may have done what it asked
// although it failed (never for a GET, which changes nothing): an attempt
// was sent and its answer was lost (the connection dropped, a timeout, a
// body cut off), was a 5xx, or was a 2xx whose body could not be read; and
// no later attempt proved what happened, as a success would (a later
// refusal proves nothing: the earlier attempt may have done the work).
//
// For a create it means the charge or refund may exist. Do not treat it as
// refused: retry later with the same MerchantTradeID or MerchantRefundID,
// which can never move money twice, or look the object up by that id
// ([ChargesService.GetByMerchantTradeID], [RefundsService.GetByMerchantRefundID]).
// Creates already do that lookup before returning (see the package docs,
// Outcomes), so a create's error says OutcomeUnknown only when the lookup
// could not settle it.
func (e *Error) OutcomeUnknown() bool { return e.unknown }

// apiErrorBody is either error shape Justap answers with.
type apiErrorBody struct {
	// google.rpc.Status
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
	// the other services' shape
	ErrorCode    json.RawMessage `json:"error_code"`
	ErrorMessage string          `json:"error_message"`
	ErrorReason  string          `json:"error_reason"`
}

// newResponseError builds the Error of a non-2xx response from its body,
// whatever shape (or none) the body has.
func newResponseError(resp *http.Response, body []byte) *Error {
	e := &Error{
		StatusCode: resp.StatusCode,
		RequestID:  requestID(resp.Header),
		Body:       bytes.Clone(body[:min(len(body), maxErrorBody)]),
	}
	var eb apiErrorBody
	if json.Unmarshal(body, &eb) == nil {
		e.Message = eb.Message
		if e.Message == "" {
			e.Message = eb.ErrorMessage
		}
		e.Reason = eb.ErrorReason
		for _, raw := range []json.RawMessage{eb.Code, eb.ErrorCode} {
			if len(raw) == 0 || e.Code != 0 {
				continue
			}
			if n, err := parseInt64JSON(raw); err == nil {
				e.Code = int(n)
			} else if e.Reason == "" {
				var s string
				if json.Unmarshal(raw, &s) == nil {
					e.Reason = s
				}
			}
		}
	}
	if e.Message == "" {
		e.Message = describeBody(resp.Header.Get("Content-Type"), body)
	}
	return e
}

// describeBody words a body that is not an API error, such as a proxy's
// HTML page or an empty 503.
func describeBody(contentType string, body []byte) string {
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return "empty response body"
	case strings.Contains(contentType, "html") || bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")):
		return "non-JSON response (HTML), likely from a proxy in front of the gateway"
	}
	return "response body is not a Justap error"
}

// requestID reads the request id a gateway or proxy put on the response.
func requestID(h http.Header) string {
	for _, k := range [...]string{"X-Request-Id", "X-Justap-Request-Id", "Request-Id", "X-Trace-Id"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// ValidationError reports a request that was not sent because a parameter
// is missing or out of range. Field names the parameter as a Go field of the
// params type, such as "ChargeCreateParams.Amount".
type ValidationError struct {
	Field  string // the parameter, as Type.Field
	Reason string // what is wrong with it, and what is allowed
}

// Error names the field, says what is wrong, and that nothing was sent.
func (e *ValidationError) Error() string {
	return "justap: invalid " + e.Field + ": " + e.Reason + " (the request was not sent)"
}

func invalid(field, reason string) *ValidationError {
	return &ValidationError{Field: field, Reason: reason}
}
