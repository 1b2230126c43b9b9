// Package justap is a client for Justap's charges and refunds API: create
// a charge, read it back, list charges, reverse an unpaid one, refund a paid
// one, read and list refunds.
//
//	c, err := justap.NewClient(os.Getenv("JUSTAP_API_KEY"),
//		justap.WithBaseURL(justap.HostedBaseURL),
//		justap.WithAppID("app_…"))
//	ch, err := c.Charges.Create(ctx, &justap.ChargeCreateParams{
//		MerchantTradeID: "order-1001",
//		Amount:          justap.Amount(1999), // ¥19.99
//		Channel:         justap.ChannelAlipayQR,
//		Subject:         "T-shirt",
//		Body:            "One T-shirt, size M",
//		ClientIP:        "203.0.113.7",
//	})
//	// show ch.Extra.AlipayQR.QRCode to the customer
//
// # Money
//
// Amounts are of type Amount, an exact int64 count of fen (Amount(1) is
// ¥0.01). On the wire Justap writes yuan with decimals; Amount writes and
// reads that text digit by digit, never through a float, so ¥131072.01 is
// sent as 131072.01 and not 131072.02. Every amount is yuan on the wire,
// refund amounts included (Justap's spec prose says fen for refunds, but
// its own plugins and webhooks use yuan). A response amount carrying a
// float's rounding noise (19.989999771118164) is read as the fen it
// rounds from; see Amount.
//
// # Validation
//
// Every method checks its input before sending anything: a missing required
// field, an amount that is not positive, an unknown channel, a merchant id
// over 32 characters, a refund description over 255 characters, an empty id
// or a page size outside 1–100, a currency other than CNY, a notify or
// callback URL that is not absolute http(s), a TTL over 366 days, a
// channel's missing input (the payer's openid for WechatpayJSAPI and
// WechatpayLite, the scanned auth code for AlipayScan and WechatpayScan),
// an extra that is not a JSON object, or text that is not valid UTF-8 is
// returned as a *ValidationError naming the field. These are the rules the
// justaptest fake enforces too. Parameters are never modified.
//
// # App ids
//
// The app_id of a call is the params' AppID if set, else the call's
// WithAppID option, else the client's WithAppID.
//
// # Errors
//
// Every call that was sent and failed returns a *Error: the HTTP status,
// the server's code, message and request id, the number of attempts, and
// the cause. Use errors.Is with ErrNotFound, ErrAuthentication,
// ErrPermission, ErrInvalidRequest, ErrConflict, ErrRateLimited, ErrServer,
// ErrNoResponse, ErrMalformedResponse and ErrReusedID to branch on the kind
// of failure; for what a failed create means for the money, see Outcomes.
//
// # Retries and idempotency
//
// A call is retried (twice by default, see WithMaxRetries) when no response
// arrived (connection refused or reset, a response cut off, a per-attempt
// timeout) and on HTTP 429, 500, 502, 503 and 504. It is never retried on
// other statuses, after the context is done, or when the server's TLS
// certificate is refused. Waits between attempts grow exponentially with
// full jitter, honour Retry-After (seconds or a date) up to WithMaxRetryWait,
// and end as soon as the context does.
//
// Retrying a create is safe, and this is why: each retry sends the same
// body, byte for byte, and that body carries the merchant's idempotency key,
// MerchantTradeID for charges and MerchantRefundID for refunds. Justap
// refuses a second charge or refund with a key it has seen, so a retry
// after a lost response can never move money twice. Reverse is safe to
// retry because reversing twice is reversing once.
//
// # Outcomes
//
// A create ends in exactly one of four outcomes, told apart by one switch:
//
//	ch, err := c.Charges.Create(ctx, params)
//	var e *justap.Error
//	switch {
//	case err == nil:
//		// Success. ch.Recovered says it was found after a lost answer.
//	case errors.As(err, &e) && errors.Is(err, justap.ErrReusedID):
//		// Reused id: MerchantTradeID already names a charge (e.Charge, when
//		// it could be read) that this call did not create; nothing moved now.
//		// e.SameMoney(): it is what was asked, made before this call (a retry
//		// continuing an earlier call passes ContinuesFrom). Otherwise it is
//		// other money: new money needs a new id.
//	case errors.As(err, &e) && e.OutcomeUnknown():
//		// Outcome unknown: the charge may exist. Retry later with the same
//		// params and justap.ContinuesFrom(e.Began).
//	default:
//		// Refused: nothing moved. A *ValidationError was never sent;
//		// otherwise e says why, and e.Retryable() whether trying again
//		// later may pass.
//	}
//
// Once an attempt of a create may have been processed without its answer
// saying how (the connection dropped or timed out after sending, the body
// was cut off, a 5xx came back, or a 2xx whose body could not be read), the
// outcome stays unknown across the remaining attempts: a later 400, 401,
// 403 or 404 does not prove that nothing moved. When such a call ends, by a
// retry refused as a duplicate or by running out of attempts, Create looks
// the object up by its merchant id (GetByMerchantTradeID, or
// GetByMerchantRefundID, which matches the id that Refunds.Create records in
// the refund's metadata under MerchantRefundIDMetadataKey), and decides by
// these rules, each of which a merchant can check:
//
//   - An object is this call's only if it is what was asked: the app,
//     amount, channel and currency of a charge; the charge and amount of a
//     refund. Text fields (subject, body, description) are not compared,
//     since a gateway may trim or re-encode them.
//   - An object is this call's only if the gateway stamped its creation no
//     earlier than the call began, less [ClockSkewAllowance] (5 minutes).
//     An older object for the same money is yesterday's, not today's: the
//     error matches ErrReusedID and e.SameMoney() is true. An object with no
//     creation time cannot be placed, and the outcome stays unknown.
//   - A full refund (no amount) is for the whole rest: a refund found by its
//     id matches only if its amount is the charge's amount less the refunds
//     made before it, that is, all that was refundable when the call began.
//   - An object for other money matches ErrReusedID, with e.SameMoney()
//     false and the message saying what differs.
//   - If the lookup finds nothing or fails, the error keeps OutcomeUnknown:
//     the SDK never says "refused" when money may have moved.
//
// A create the gateway refuses as a duplicate on its first attempt matches
// ErrConflict and ErrReusedID, with the object the id names in the error's
// Charge or Refund field, by the same rules. A recovered object is returned
// with Recovered set, and an info record is logged when a logger is set.
// WithRecovery(false) turns the lookups off.
//
// Only the caller knows that a create continues an earlier one, so a retry
// after an unknown outcome says so with [ContinuesFrom]. Then an object that
// is what was asked and was created no earlier than that time, less the
// allowance, is this call's, found after a duplicate or a lost answer alike.
// A job that survives restarts stores the params and the time of the first
// attempt next to its own work, and runs:
//
//	// job.Params and job.Began were stored before the first attempt.
//	for {
//		_, err := c.Charges.Create(ctx, job.Params, justap.ContinuesFrom(job.Began))
//		var e *justap.Error
//		if err == nil {
//			return job.Done(ctx) // created by this call or an earlier attempt
//		}
//		if !errors.As(err, &e) || !e.OutcomeUnknown() {
//			return job.Fail(ctx, err) // refused, or the id names other money
//		}
//		select { // unknown still: the same params and time, later
//		case <-ctx.Done():
//			return ctx.Err() // a restart runs the loop again from the store
//		case <-time.After(time.Minute):
//		}
//	}
//
// The first attempt may pass ContinuesFrom too (with the stored time), so
// every attempt of the job is the same call.
//
// # Listing
//
// Lists are newest first and paged by cursor: StartingAfter gives the next
// (older) page, EndingBefore the previous (newer) one. Without a Created…
// bound, Justap returns only about the last month of charges: set
// CreatedGTE to reach further back. Filters left unset are not sent
// (Justap's published spec gives them defaults of false; sending those would
// silently hide most charges).
//
// To walk every page, range over [ChargesService.All] or [RefundsService.All]:
// they page by these cursors for you, one page in memory at a time, and
// fetch a page only when the loop reaches it. Limit stays the page size;
// Take stops a walk after a number of items without fetching further. A
// walk never yields an object twice and never loops: a page larger than
// asked for, a cursor already used, a page that repeats the cursor's item
// or an item of the previous page (an inclusive cursor), an item twice on
// one page, or an item out of the newest-first order across pages end the
// walk with ErrMalformedResponse. Only the previous page's ids are kept.
//
// # Wire formats
//
// int64 values are read from JSON numbers or strings (grpc-gateway writes
// them as strings); times from RFC 3339 text or Unix seconds, with absent,
// null, "", "0" and 0 all meaning the zero time. Unknown channels and
// unknown fields decode without error. A charge's extra is kept whole in
// [ChargeExtra.Raw], so the entries and keys this package does not type
// are sent back unchanged.
//
// # Testing
//
// Package justaptest runs an in-process fake Justap gateway on loopback:
// point a Client at its URL (WithBaseURL) to test checkout and refund code
// offline, with no key and no network. It keeps charges and refunds in
// memory, answers in the gateway's wire format, checks request signatures,
// and can be told to fail, delay or cut off responses to exercise retries.
//
// # Notifications
//
// Justap posts a notification to a charge's NotifyURL when the charge is
// paid, refunded (once per refund), reversed, closed, and so on.
// [NotificationsService.Handler] (as Client.Notifications.Handler) returns
// the http.Handler for that URL. Justap encrypts a notification with its
// RSA private key, block by block, which authenticates each block but not
// the message: blocks can be reordered, and a genuine notification can be
// replayed. So the handler treats a notification as a hint: it decrypts it
// with Justap's public keys ([WithJustapPublicKey]; several during a
// rotation), checks the app, reads the charge back from the API by its
// merchant_trade_id (and its refunds for charge.refunded), checks that the
// API agrees with the event, and only then calls the merchant's function
// with the API's charge. Anything else is answered with a status that
// makes Justap resend (500) or says the notification was refused (400). An
// unencrypted notification is refused unless [AllowUnencryptedNotifications]
// is set. [ParseNotification] decodes and authenticates without the rest.
//
// What a notification is and which one it is come only from authenticated
// bytes, by these rules:
//
//   - Its identity among resends is its app and notify_id, read from the
//     decrypted object, or, without a notify_id, a SHA-256 digest of the
//     decrypted object; the envelope's event, which is not encrypted, is not
//     part of it, so a relabelled copy is the same notification.
//   - The envelope's event must agree with the decrypted object's own
//     fields (charge.paid needs is_paid, charge.refunded is_refund or an
//     amount refunded, charge.reversed is_reversed, charge.closed is_closed,
//     and trade_type 2 is only charge.paid); a notification where they
//     disagree is a forgery: 400, and the function is not called.
//   - A decrypted object with a key twice, or with a key differing only by
//     case from a known key (app_id and APP_ID), is refused (400), since
//     readers that keep the first or match case would read another
//     notification than this package.
//   - An event that is not about a charge is acknowledged and takes no
//     space in the store.
//
// The handler claims each notification, by that identity, in a
// [NotificationStore] (in memory by default; one shared store for several
// instances) before it calls the function: at most one caller holds a
// claim at a time, under a lease ([WithNotificationLease]); a copy that
// meets a held claim is answered 503 and one already handled 200, without
// calling the function; a failed call releases the claim; a store that
// fails is answered 500, so that Justap resends. The function must be
// idempotent all the same: a lease can end while the function still runs,
// and a store forgets. Justap gives up after about 25 hours, so run the
// same function from a periodic sweep as well:
//
//	for ch, err := range c.Charges.All(ctx, &justap.ChargeListParams{
//		CreatedGTE: time.Now().Add(-48 * time.Hour), Paid: justap.Bool(true), Limit: 100,
//	}) {
//		if err == nil {
//			err = handle(ctx, &justap.ChargeEvent{Type: justap.EventChargePaid, Charge: ch})
//		}
//		if err != nil {
//			break // the next sweep tries again
//		}
//	}
//
// # Request signing
//
// Where the merchant has uploaded an RSA public key, the gateway wants every
// request signed with the private key: load it with ParsePrivateKeyPEM
// (PKCS#1 or PKCS#8) and pass WithPrivateKey. Every attempt, retries, GETs
// and body-less POSTs included, then carries a fresh nonce, the time, the
// MD5 body hash and the RSA signature in four X-Justap-… headers. Keys must
// be at least 2048 bits. The fake gateway of package justaptest checks
// such requests the way the gateway does (signature, clock skew, replays),
// for testing a set-up offline. Justap's scheme signs the body, time and nonce but not the
// method, path or query, so it does not replace TLS.
//
// # Secrets
//
// The API key is sent in the X-Justap-Api-Key header and nowhere else: it
// is not in errors, log records, or the fmt output of any value of this
// package. A key that a server echoes back in an error is redacted, and
// redirects are never followed, since they would carry the key to another
// host. The private key signs and is never sent, logged or printed.
package justap
