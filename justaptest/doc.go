// Package justaptest is a fake Justap gateway with real state, for tests:
// it runs in your test's process, speaks the gateway's wire format, keeps
// charges and refunds, and enforces Justap's rules, so that code written
// against package justap can be tested offline, in CI, without a mock
// process.
//
//	func TestCheckout(t *testing.T) {
//		srv := justaptest.NewServer(t) // closed when the test ends
//		c, _ := justap.NewClient(srv.APIKey(),
//			justap.WithBaseURL(srv.URL), justap.WithAppID(srv.AppID()))
//
//		ch, err := c.Charges.Create(ctx, &justap.ChargeCreateParams{…})
//		// ch is unpaid; ch.Extra.AlipayQR.QRCode is set
//		srv.Pay(ch.ID) // the customer pays
//		ch, err = c.Charges.Get(ctx, ch.ID) // ch.Paid, ch.PaidAt, ch.TransactionNo
//	}
//
// NewServer listens on a loopback port for one test and closes with it;
// StartServer does the same outside a test (an example, a demo program)
// and leaves Close to the caller. NewHandler gives the same fake as an
// http.Handler to serve as you like; cmd/justap-mock serves it as a
// standalone program for tests in other languages. Options work as the
// client's do: each is applied once, and one that cannot be applied (an
// unusable WithPublicKey) is an error, which NewServer reports by failing
// the test.
//
// # Wire format
//
// All seven operations of the API are served, at their paths, with the
// gateway's encoding: single objects wrapped as {"object": "Charge",
// "data": {…}}, lists as {"object": "ChargeList", "data": […], "has_more":
// …} (refund lists also carry "total"), money as yuan decimals. The fake
// writes them with its own wire structs, not package justap's models, so
// that an encoding mistake cannot hide on both sides. Every field Justap's
// API description requires is present, as "", 0 or false when empty, and
// no string field is ever null: an unset RFC 3339 time (paid_at,
// closed_at, reversed_at, …) is left out. A charge's Unix-second fields
// (paid_ts, closed_ts, expired_ts) are JSON strings and a refund's
// (created, succeed_ts) JSON numbers, as the description declares them.
// The entry of the charge's channel in extra carries every key the
// description requires (alipay_qr's buyer_id, operator_id, product_code,
// qr_code_timeout_express, store_id and terminal_id as "", say). Errors are google.rpc.Status
// bodies, {"code": 5, "message": "…", "details": []}, with the HTTP status
// grpc-gateway gives the code: 3 invalid argument and 9 failed
// precondition → 400, 16 unauthenticated → 401, 7 permission denied → 403,
// 5 not found → 404, 6 already exists → 409, 12 unimplemented (a method
// the path does not take) → 501. Every API response has an X-Request-Id
// header (req_0000000001, …).
//
// Request bodies are read as the gateway reads them (protobuf JSON): keys
// in snake_case or lowerCamelCase, null as unset, unknown keys ignored, a
// value of the wrong JSON type refused. Unknown query parameters are
// ignored too, as grpc-gateway ignores them: Ping++'s created[gt] silently
// filters nothing.
//
// # Rules
//
//   - Every API request must carry the fake's API key (APIKey, set with
//     WithAPIKey) in the X-Justap-Api-Key header, or it is refused with
//     401 (code 16). The fake serves one app (AppID, set with WithAppID):
//     another app_id is refused with 403 (code 7).
//   - Creating a charge requires app_id, merchant_trade_id (at most 32
//     characters), amount (greater than zero, whole fen), channel (a known
//     channel), subject, body and client_ip (an IP address); currency, if
//     set, must be CNY; notify_url and callback_url must be absolute http(s)
//     URLs; ttl is 0 to 366 days in seconds (0 or absent: DefaultTTL).
//     wechatpay_jsapi and wechatpay_lite need extra.….payer.openid,
//     alipay_scan and wechatpay_scan need extra.….auth_code. Anything else
//     missing or malformed is refused with 400 (code 3).
//   - merchant_trade_id is unique per app: a second create with the same
//     one is refused with 409 (code 6, already exists), whatever its other
//     fields, and no second charge is made. Find the first with the list's
//     merchant_trade_id filter.
//   - A new charge is unpaid, with its channel's front-end data filled in
//     extra (the request's channel inputs are kept): alipay_qr.qr_code and
//     qr_link, wechatpay_native.qr_code and qr_link, alipay_wap, alipay_page
//     and wechatpay_h5 pay_url, alipay_app.pay_param,
//     wechatpay_jsapi.jsapi_config, wechatpay_lite.applet_config and
//     wechatpay_app.app_config. QR codes and pay URLs lead to the fake's pay
//     page (below); the WeChat and Alipay configs hold sample values derived
//     from the charge id.
//   - A charge can be paid (Pay) until it is reversed, closed (CloseCharge)
//     or expired. It expires when the fake's clock reaches its time_expire
//     (created_at + ttl), or at once with Expire.
//   - Reverse works on an unpaid charge and is idempotent (reversing a
//     reversed charge returns it unchanged); a paid charge is refused with
//     400 (code 9, failed precondition).
//   - A refund needs app_id, charge_id, merchant_refund_id (at most 32
//     characters) and description (at most 255 characters). Only a paid
//     charge can be refunded; the amount, if given, must be greater than
//     zero and at most what is left to refund; without an amount, the
//     whole rest is refunded. These are refused with 400 (code 9) or, for a
//     malformed request, 400 (code 3). An unknown charge is 404 (code 5).
//   - merchant_refund_id is unique per app: a second refund with the same
//     one is refused with 409 (code 6), whatever its charge or amount, and
//     no money moves twice. (The fake does not return the existing refund;
//     read it back with the charge's refund list.)
//   - A refund succeeds at once: status "refunded", is_success, success_at,
//     and the charge's amount_refund grows. A charge's refunded is true
//     once it has a refund, pending or failed ones included, as Justap
//     defines it (amount_refund says how much); the list's refunded filter
//     selects the same. With WithPendingRefunds it stays "refunding"
//     until CompleteRefund; a pending refund already counts against what is
//     left to refund.
//   - Charge lists are newest first (by created_at, then by creation
//     order), limit 1–100 (default 10), with every filter: merchant_trade_id,
//     channel, created.gt/gte/lt/lte (Unix seconds), and the booleans paid,
//     refunded, reversed, closed and expired, each applied only when
//     present. Without any created.* bound only the last ListWindow (30
//     days, by the fake's clock) is listed, as Justap lists about the last
//     month. starting_after=<id> gives the next (older) page,
//     ending_before=<id> the previous (newer) one; has_more says whether
//     more lie beyond the page in that direction. A cursor must name an
//     object of the list (400, code 3, otherwise).
//   - A charge's refunds list the same way, newest first, with "total".
//
// Request signatures are ignored unless the fake has the merchant's public
// key (WithPublicKey, or WithVerifier): then every API request must carry a
// valid signature over its exact body, within the clock skew, with a nonce
// not seen before, or it is refused with 401 (code 16) before it is routed,
// so a client using justap.WithPrivateKey can be tested offline. Verifier
// is that check on its own, the gateway's side of justap.WithPrivateKey;
// its freshness check and nonce record are one step against a clock that
// never goes back, so a replay is refused even when the clock steps back
// or concurrent requests meet at a nonce's expiry.
//
// # Ids, times and determinism
//
// Ids are sequential per server: ch_0000000001, re_0000000001; transaction
// numbers tx_0000000001. Times come from the clock (WithClock, default
// time.Now) truncated to whole seconds. With a fixed clock, the same
// requests get the same responses, byte for byte, but for the fake's own
// URL in pay links.
//
// # Helpers for tests
//
// Pay, Expire, CloseCharge and CompleteRefund move a charge or refund as
// the customer or the channel would; Charge, Refund and Charges read the
// state back, as the API would return it. They return an error when the
// move is not allowed (paying a paid charge, say).
//
// # Faults and counts
//
// FailNext makes the next n requests (all, or those of one operation,
// method or path) fail: with an HTTP status and body (FaultStatus, a
// Retry-After if you like), by hanging until the client gives up
// (FaultHang), by closing the connection (FaultReset), with a cut-off JSON
// body (FaultMalformed), or by processing the request and then closing the
// connection without an answer (FaultDropResponse) — the lost response a
// retried create must survive without charging twice. Count returns how
// many requests an operation received, faulted ones included.
//
// # Notifications
//
// When a charge created with a notify_url is paid, refunded (once per
// refund, when the refund succeeds: at once, or at CompleteRefund with
// WithPendingRefunds), reversed, closed, or expires (by the clock or by
// Expire), the fake queues the notification Justap posts: charge.paid,
// charge.refunded, charge.reversed, and charge.closed for both a closed
// and an expired charge. A refund created with its own notify_url has its
// charge.refunded posted there. The body is Justap's envelope,
// {"event": "charge.paid", "is_encrypted": true, "data": "<base64>"}, whose
// data is the notification object (NotificationObject: the charge's
// state at the event, amounts in yuan, notify_id the delivery's id)
// encrypted block by block with the fake's platform key: the JSON cut
// into blocks of at most k-11 bytes, each RSA "private-encrypted" with
// PKCS #1 v1.5 type-1 padding, as Justap's official plugin expects.
// Configure the code under test with PlatformPublicKey. Each fake
// generates its own 2048-bit platform key the first time it needs it
// (tens of milliseconds; a fake that sends no notification never does),
// so one fake's notifications never authenticate with another's key;
// WithPlatformKey fixes it for golden tests.
//
// Nothing is posted on its own: a test calls DeliverDue, which posts what
// is due by the fake's clock and returns once every answer is in, so the
// test goes on knowing the handler has run:
//
//	srv.Pay(ch.ID)
//	srv.DeliverDue(ctx) // the charge.paid notification is posted and answered
//	// the order is paid
//
// Any 2xx acknowledges a notification. Anything else (or no answer) is
// retried on the fake's clock: attempt n+1 becomes due the n-th wait of
// the schedule after attempt n, at most ten attempts over about 24.4
// hours by default (DefaultDeliverySchedule: 15s, 1m, 2m, 10m, 10m, 1h,
// 2h, 6h, 15h). Justap publishes only "at most 10 times within 25 hours";
// the intervals are this package's assumption, after Ping++'s, and
// WithDeliverySchedule sets others. A test advances its clock (WithClock)
// to NextDeliveryAt and calls DeliverDue again; nothing sleeps. A
// charge's notifications are posted one after the other, in the order of
// their events; different charges' concurrently. RunDeliveries delivers
// as time passes instead, for a fake on the real clock (cmd/justap-mock).
//
// Deliveries returns every notification with every post and its answer
// (status and the first KiB of the body) and its state (pending,
// delivered, failed); Resend posts one again, as a replay would.
// NotificationBody builds a body for a handler's unit test without a
// fake, from ChargeNotification or any object, with a key of your own;
// Handler.NotificationBody does it with the fake's platform key, for an
// authentic notification that lies about the charge.
//
// Posts carry the context given to DeliverDue, time out after 10 seconds,
// never follow a redirect, read at most 1 KiB of the answer, and go only
// to loopback addresses (checked on the address actually dialled, after
// name resolution), unless WithNotifyAnyAddress or WithNotifyClient says
// otherwise. They carry an X-Justaptest-Notification header (the
// notify_id), and a fake refuses every request that has one (403), so a
// notify_url naming a fake's own endpoints cannot make it post to itself
// without end.
//
// The delivery faults go through FailNext like the others, selected by
// the notify_url's path (Path) and the event (Event); each takes one
// scheduled attempt of one notification. FaultDuplicate posts it twice.
// FaultOutOfOrder holds it back until the charge's next notification has
// been posted, then posts it. FaultDelay postpones it by Fault.Delay. The
// hostile ones post, just before the genuine notification, what an
// attacker or a confused sender might: FaultUnencrypted (the same object
// unencrypted), FaultForged (encrypted with another key), FaultTampered
// (one bit of a block flipped), FaultOtherApp (authentic, but for another
// app). Each post is recorded with the fault that made it; only the
// genuine post's answer decides whether the notification was delivered.
// A handler that survives them answers 400 to the hostile post, handles
// the genuine one once, and is unmoved by the duplicate.
//
// # Control endpoints
//
// For tests not written in Go, the helpers are also served over HTTP,
// without the API key, under /justaptest/:
//
//	GET  /justaptest/charges/{id}/pay        the pay page (an HTML form)
//	POST /justaptest/charges/{id}/pay        Pay; also /expire and /close
//	POST /justaptest/refunds/{id}/complete   CompleteRefund
//	POST /justaptest/faults                  FailNext: {"count": 1, "op": "POST /transaction/v1/charges",
//	                                         "kind": "status", "status": 503, "retry_after": "1"}
//	DELETE /justaptest/faults                ClearFaults
//	GET  /justaptest/counts                  Counts: {"counts": {"POST /transaction/v1/charges": 2}}
//	POST /justaptest/reset                   Reset
//	GET  /justaptest/deliveries              Deliveries: {"deliveries": […]}
//	POST /justaptest/deliveries/due          DeliverDue: {"attempts": […]}
//	POST /justaptest/deliveries/{id}/resend  Resend
//	GET  /justaptest/platform-key            PlatformPublicKey, as a PEM "PUBLIC KEY"
//
// They answer the charge or refund as the API does, or a google.rpc.Status
// error. Fault kinds are named "status", "hang", "reset", "malformed",
// "drop_response", "duplicate", "out_of_order", "delay" (with "delay":
// "90s"), "unencrypted", "forged", "tampered" and "other_app". Serve the
// fake on loopback only: anyone who reaches it can pay its charges.
//
// A Handler, and so a Server, is safe for concurrent use.
package justaptest
