package justap

import (
	"context"
	"crypto/sha256"
	"iter"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/justap-go/justap/internal/rules"
)

// All walks every charge that params select, across as many pages as it
// takes, requesting each page only when the one before it is used up. It
// is for reconciliation: ranging over it is a loop over charges, with no
// cursor to handle, and it holds one page in memory however long the walk.
//
//	for ch, err := range c.Charges.All(ctx, &justap.ChargeListParams{CreatedGTE: start}) {
//		if err != nil {
//			return err // yielded once, as the last element
//		}
//		…
//	}
//
// Nothing is requested until the loop starts; break stops the walk and
// requests nothing more. Each range over the returned sequence walks the
// list again from the start, so it may be ranged more than once, and from
// several goroutines at once. All copies params when called: changing them
// afterwards does not change the walk, and they are never modified.
//
// Filters are sent as set, on every page, and never when unset. Limit is
// the page size (1–100, 0 leaves it to the server, which sends 10): a long
// walk takes fewest requests with Limit 100. To stop after a number of
// charges in all, wrap the sequence in Take. As with List, without a
// Created… bound the server returns only about the last month of charges:
// see the Listing section of the package docs.
//
// Order: without EndingBefore the walk goes from newest to oldest, starting
// after StartingAfter when it is set (each next page is requested with
// starting_after = the id of the last charge yielded). With EndingBefore it
// goes the other way, from the charge just newer than EndingBefore to the
// newest, oldest first (each page, which the server sends newest first, is
// yielded in reverse, and the next one is requested with ending_before =
// the id of the last charge yielded). StartingAfter and EndingBefore
// together are refused.
//
// Errors end the walk: an invalid parameter is yielded as a
// *ValidationError before anything is sent; a failed page is yielded as
// the *Error of its List call after every charge of the pages before it;
// a page that cannot be walked (has_more with no charges, a null charge,
// no id on the last charge to page from, more charges than the page size,
// or a page ending at a cursor this walk has already paged from, as when
// pages cycle a→b→a) is yielded as an *Error matching
// ErrMalformedResponse, rather than walked for ever. Each
// error is yielded once, as the last element, with a nil charge.
func (s *ChargesService) All(ctx context.Context, params *ChargeListParams, opts ...Option) iter.Seq2[*Charge, error] {
	var p ChargeListParams
	if params != nil {
		p = *params
		p.Paid, p.Refunded, p.Reversed = cloneBool(p.Paid), cloneBool(p.Refunded), cloneBool(p.Reversed)
		p.Closed, p.Expired = cloneBool(p.Closed), cloneBool(p.Expired)
	}
	opts = slices.Clone(opts)
	return walk(ctx, walker[Charge]{
		kind:          "charge",
		path:          "/transaction/v1/charges",
		field:         "ChargeListParams.",
		startingAfter: p.StartingAfter,
		endingBefore:  p.EndingBefore,
		id:            func(c *Charge) string { return c.ID },
		created:       func(c *Charge) time.Time { return c.CreatedAt },
		page: func(ctx context.Context, startingAfter, endingBefore string) ([]*Charge, bool, error) {
			q := p
			q.StartingAfter, q.EndingBefore = startingAfter, endingBefore
			l, err := s.List(ctx, &q, opts...)
			if err != nil {
				return nil, false, err
			}
			return l.Data, l.HasMore, nil
		},
	})
}

// All walks every refund of a charge, across as many pages as it takes,
// requesting each page only when the one before it is used up.
//
//	for rf, err := range c.Refunds.All(ctx, chargeID, &justap.RefundListParams{Limit: 100}) {
//		if err != nil {
//			return err // yielded once, as the last element
//		}
//		…
//	}
//
// It behaves as [ChargesService.All] does, paging with the same cursors (see
// the Listing section of the package docs): it is lazy, break stops it,
// each range walks from the start, params are copied when All is called
// and never modified, Limit is the page size (wrap the sequence in Take to
// stop after a number of refunds), EndingBefore reverses the direction,
// and errors (an invalid chargeID or parameter, a failed page, a page that
// would make the walk endless) are yielded once, last.
func (s *RefundsService) All(ctx context.Context, chargeID string, params *RefundListParams, opts ...Option) iter.Seq2[*Refund, error] {
	var p RefundListParams
	if params != nil {
		p = *params
	}
	opts = slices.Clone(opts)
	return walk(ctx, walker[Refund]{
		kind:          "refund",
		path:          "/" + refundsPath(chargeID),
		field:         "RefundListParams.",
		startingAfter: p.StartingAfter,
		endingBefore:  p.EndingBefore,
		id:            func(r *Refund) string { return r.ID },
		created:       func(r *Refund) time.Time { return r.CreatedAt },
		page: func(ctx context.Context, startingAfter, endingBefore string) ([]*Refund, bool, error) {
			q := p
			q.StartingAfter, q.EndingBefore = startingAfter, endingBefore
			l, err := s.List(ctx, chargeID, &q, opts...)
			if err != nil {
				return nil, false, err
			}
			return l.Data, l.HasMore, nil
		},
	})
}

// Take returns a sequence of the first n items of seq: after the n-th item
// it stops seq at once, so a walk made by All never requests a page beyond
// the one holding the n-th item. Errors are passed on and do not count as
// items. With n <= 0 it yields nothing and does not start seq (no request
// is sent).
//
// Take does not change the page size: to read the 5 newest charges with a
// single small request, set Limit to 5 as well.
//
//	for ch, err := range justap.Take(c.Charges.All(ctx, &justap.ChargeListParams{Limit: 5}), 5) {
//		…
//	}
func Take[T any](seq iter.Seq2[T, error], n int) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		if n <= 0 {
			return
		}
		left := n
		for v, err := range seq {
			if !yield(v, err) {
				return
			}
			if err == nil {
				// Stop right after the n-th item, not when an (n+1)-th
				// arrives: that one could cost a page request.
				if left--; left == 0 {
					return
				}
			}
		}
	}
}

// walker describes one cursor walk over a list endpoint.
type walker[T any] struct {
	kind  string // "charge" or "refund", for error messages
	path  string // the endpoint's path below the base URL, for errors
	field string // the params type's name and a dot, for validation errors

	startingAfter, endingBefore string // the caller's cursors

	// id returns an item's id, which is the cursor of the next page.
	id func(*T) string
	// created returns an item's creation time, by which lists are ordered
	// (newest first); zero when the server sent none.
	created func(*T) time.Time
	// page requests one page through the service's List, with exactly one
	// or neither of its cursors set, and returns its items in the server's
	// order and has_more.
	page func(ctx context.Context, startingAfter, endingBefore string) ([]*T, bool, error)
}

// walk returns the sequence of every item of w's list, one page in memory
// at a time. It holds no state of its own between ranges: each range
// starts from the caller's cursor.
func walk[T any](ctx context.Context, w walker[T]) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		if w.startingAfter != "" && w.endingBefore != "" {
			yield(nil, invalid(w.field+"EndingBefore",
				"cannot be set with StartingAfter when walking with All; set StartingAfter to walk to older "+
					w.kind+"s, or EndingBefore to walk to newer ones"))
			return
		}
		backward := w.endingBefore != ""
		cursor := w.startingAfter
		if backward {
			cursor = w.endingBefore
		}
		// The cursors this walk has paged from, to refuse pages that cycle
		// (a→b→a): one 16-byte digest per page requested, whatever the
		// length of the ids, so memory grows with the requests made, never
		// with what a page holds.
		seen := map[cursorDigest]struct{}{digest(cursor): {}}
		// What a page must not repeat: the ids of the page before it and
		// the cursor, and the time of the last item yielded, which the
		// next page must not be newer than (older, walking backward). An
		// item from further back would break that order, so these are
		// enough: memory is one page's ids, however long the walk.
		var prev pageMark
		prev.ids = map[cursorDigest]struct{}{}
		if cursor != "" {
			prev.ids[digest(cursor)] = struct{}{}
		}
		for {
			var (
				items []*T
				more  bool
				err   error
			)
			if backward {
				items, more, err = w.page(ctx, "", cursor)
			} else {
				items, more, err = w.page(ctx, cursor, "")
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if backward {
				// The server sends each page newest first; walking towards
				// the newest, yield it oldest first so the whole walk is in
				// one order, and the last item yielded is the next cursor.
				slices.Reverse(items)
			}
			next, err := w.check(items, more, cursor, backward, seen)
			if err == nil {
				err = w.checkRepeats(items, cursor, backward, &prev)
			}
			if err != nil {
				yield(nil, err)
				return
			}
			seen[digest(next)] = struct{}{}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
			if !more {
				return
			}
			cursor = next
		}
	}
}

// pageMark is what a walk keeps of the page before: its items' ids (and
// the cursor), and its bound: the creation time of its oldest item
// (newest, walking backward), zero when none had a time.
type pageMark struct {
	ids   map[cursorDigest]struct{}
	bound time.Time
}

// checkRepeats refuses a page that would make the walk yield an item
// twice: an item that repeats the cursor or an item of the page before (a
// gateway whose cursor is inclusive, or off by more), an item given twice
// on the page, or an item newer than every item of the page before (older,
// walking backward), which could be one yielded pages ago. The order
// within a page is the server's to choose. prev then becomes this page's
// mark.
func (w *walker[T]) checkRepeats(items []*T, cursor string, backward bool, prev *pageMark) error {
	ids := make(map[cursorDigest]struct{}, len(items))
	var bound time.Time
	for _, it := range items {
		id := w.id(it)
		d := digest(id)
		if _, dup := prev.ids[d]; dup && id != "" {
			return w.malformed("the page after " + w.kind + " " + cursor + " repeats " + w.kind + " " + id +
				", which the walk has already yielded or paged from (is the gateway's cursor inclusive?); " +
				"the walk stopped rather than count it twice")
		}
		if _, dup := ids[d]; dup && id != "" {
			return w.malformed("a page holds " + w.kind + " " + id + " twice; the walk stopped rather than count it twice")
		}
		ids[d] = struct{}{}
		t := w.created(it)
		if t.IsZero() {
			continue
		}
		if !prev.bound.IsZero() && (!backward && t.After(prev.bound) || backward && t.Before(prev.bound)) {
			order := "newer"
			if backward {
				order = "older"
			}
			return w.malformed(w.kind + " " + id + " on the page after " + w.kind + " " + cursor + " is " + order +
				" than the page before it, so the pages are out of order and could repeat a " + w.kind +
				"; the walk stopped rather than count one twice")
		}
		if bound.IsZero() || !backward && t.Before(bound) || backward && t.After(bound) {
			bound = t
		}
	}
	prev.ids, prev.bound = ids, bound
	return nil
}

// cursorDigest identifies a cursor in the set of a walk's cursors: the
// first 16 bytes of its SHA-256, so that no two ids a server picks can
// collide in practice, and a long id costs no more than a short one.
type cursorDigest [16]byte

func digest(cursor string) cursorDigest {
	sum := sha256.Sum256([]byte(cursor))
	return cursorDigest(sum[:16])
}

// check vets a page, in yield order, before any of its items is yielded,
// and returns the cursor of the next page. It refuses the pages a server
// could send to make the walk endless or to make it yield nil items: seen
// holds the cursors this walk has paged from.
func (w *walker[T]) check(items []*T, more bool, cursor string, backward bool, seen map[cursorDigest]struct{}) (string, error) {
	param, dir := "starting_after", "after"
	if backward {
		param, dir = "ending_before", "before"
	}
	at := ""
	if cursor != "" {
		at = " (" + param + "=" + cursor + ")"
	}
	for _, it := range items {
		if it == nil {
			return "", w.malformed("a page" + at + " holds a null " + w.kind)
		}
	}
	if len(items) == 0 {
		if more {
			return "", w.malformed("a page" + at + " has no " + w.kind + "s but says has_more; " +
				"the walk stopped rather than ask for the same page again")
		}
		return "", nil
	}
	next := w.id(items[len(items)-1])
	switch {
	case cursor != "" && next == cursor:
		return "", w.malformed("the page " + dir + " " + w.kind + " " + cursor + " ends with that same " + w.kind +
			", so the cursor does not advance; the walk stopped rather than loop for ever")
	case more && next == "":
		return "", w.malformed("a page" + at + " says has_more but its last " + w.kind + " has no id to page from")
	}
	if _, dup := seen[digest(next)]; dup && next != "" {
		return "", w.malformed("the page " + dir + " " + w.kind + " " + cursor + " ends with " + w.kind + " " + next +
			", which this walk has already paged from, so the pages cycle; the walk stopped rather than loop for ever")
	}
	return next, nil
}

// checkPageSize refuses a page holding more items than the page size asked
// for, or than the largest page the API serves when none was asked for:
// such a page is not what was requested, and its size is the server's
// choice alone.
func checkPageSize(path, kind string, n, limit int) error {
	if limit == 0 {
		limit = rules.MaxListLimit
	}
	if n <= limit {
		return nil
	}
	return &Error{
		Method:     http.MethodGet,
		Path:       path,
		StatusCode: http.StatusOK,
		Message: "the page holds " + strconv.Itoa(n) + " " + kind + "s, more than the page size of " +
			strconv.Itoa(limit) + "; it was refused as not the page asked for",
		class: ErrMalformedResponse,
	}
}

// malformed is the error of a page that was received but cannot be walked.
func (w *walker[T]) malformed(msg string) *Error {
	return &Error{
		Method:     http.MethodGet,
		Path:       w.path,
		StatusCode: http.StatusOK,
		Message:    msg,
		class:      ErrMalformedResponse,
	}
}

func cloneBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}
