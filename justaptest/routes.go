package justaptest

import (
	"net/http"
	"net/url"
	"strings"
)

// Op names one of the seven API operations, as "METHOD /path pattern". It
// selects requests for Count and for a Fault.
type Op string

// The API operations.
const (
	OpCreateCharge  Op = "POST /transaction/v1/charges"
	OpGetCharge     Op = "GET /transaction/v1/charges/{charge_id}"
	OpListCharges   Op = "GET /transaction/v1/charges"
	OpReverseCharge Op = "POST /transaction/v1/charges/{charge_id}/reverse"
	OpCreateRefund  Op = "POST /transaction/v1/refunds"
	OpGetRefund     Op = "GET /transaction/v1/charges/{charge_id}/refunds/{refund_id}"
	OpListRefunds   Op = "GET /transaction/v1/charges/{charge_id}/refunds"
)

// routed is a request matched to its operation and path parameters. op is
// empty when nothing matched; allow then lists the methods the path takes,
// if the path exists.
type routed struct {
	op                 Op
	chargeID, refundID string
	allow              string
}

// route matches a request's method and escaped path to an operation.
func route(method, escapedPath string) routed {
	rest, ok := strings.CutPrefix(escapedPath, "/transaction/v1/")
	if !ok {
		return routed{}
	}
	seg := strings.Split(rest, "/")
	for i, s := range seg {
		u, err := url.PathUnescape(s)
		if err != nil || u == "" {
			return routed{}
		}
		seg[i] = u
	}
	pick := func(r routed, methods map[string]Op) routed {
		if op, ok := methods[method]; ok {
			r.op = op
			return r
		}
		var allow []string
		for _, m := range [...]string{http.MethodGet, http.MethodPost} {
			if _, ok := methods[m]; ok {
				allow = append(allow, m)
			}
		}
		r.allow = strings.Join(allow, ", ")
		return r
	}
	switch {
	case len(seg) == 1 && seg[0] == "charges":
		return pick(routed{}, map[string]Op{http.MethodGet: OpListCharges, http.MethodPost: OpCreateCharge})
	case len(seg) == 1 && seg[0] == "refunds":
		return pick(routed{}, map[string]Op{http.MethodPost: OpCreateRefund})
	case seg[0] != "charges":
		return routed{}
	case len(seg) == 2:
		return pick(routed{chargeID: seg[1]}, map[string]Op{http.MethodGet: OpGetCharge})
	case len(seg) == 3 && seg[2] == "reverse":
		return pick(routed{chargeID: seg[1]}, map[string]Op{http.MethodPost: OpReverseCharge})
	case len(seg) == 3 && seg[2] == "refunds":
		return pick(routed{chargeID: seg[1]}, map[string]Op{http.MethodGet: OpListRefunds})
	case len(seg) == 4 && seg[2] == "refunds":
		return pick(routed{chargeID: seg[1], refundID: seg[3]}, map[string]Op{http.MethodGet: OpGetRefund})
	}
	return routed{}
}
